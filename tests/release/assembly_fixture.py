"""A cloud assembly on disk built from the committed stack snapshots, in the CLI's layout.

The manifests have the shape `cdk synth` writes (checked against a real synth of dev: a
`cdk:cloud-assembly` per stage, stack artifacts with `displayName`, `stackName`, `templateFile`,
`requiresBootstrapStackVersion` and `bootstrapStackVersionSsmParameter`, one asset manifest per
stack), so release/ tools read it as they read a real one, without a one-minute synth.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.helpers import STACKS

SNAPSHOTS = Path(__file__).resolve().parents[1] / "stacks" / "__snapshots__" / "test_snapshots"
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


def snapshot(env: str, stack: str) -> dict:
    return json.loads((SNAPSHOTS / f"test_template_snapshot[{env}-{stack}].json").read_text(encoding="utf-8"))


def write_assembly(root: Path, env: str, templates: dict[str, dict] | None = None, *, requires: int = 6) -> Path:
    """Write `root/manifest.json` and `root/assembly-<env>/`; `templates` overrides snapshots by stack id."""
    templates = {stack: copy.deepcopy((templates or {}).get(stack) or snapshot(env, stack)) for stack in STACKS}
    nested = root / f"assembly-{env}"
    nested.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "version": "55.0.0",
                "artifacts": {
                    f"assembly-{env}": {
                        "type": "cdk:cloud-assembly",
                        "properties": {"directoryName": f"assembly-{env}", "displayName": env},
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    artifacts = {}
    for stack, template in templates.items():
        artifact_id = f"{env}{stack}"
        (nested / f"{artifact_id}.template.json").write_text(json.dumps(template), encoding="utf-8")
        artifacts[f"{artifact_id}.assets"] = {
            "type": "cdk:asset-manifest",
            "properties": {
                "file": f"{artifact_id}.assets.json",
                "requiresBootstrapStackVersion": requires,
                "bootstrapStackVersionSsmParameter": BOOTSTRAP_PARAMETER,
            },
        }
        artifacts[artifact_id] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111111111111/us-east-1",
            "displayName": f"{env}/{stack}",
            "properties": {
                "templateFile": f"{artifact_id}.template.json",
                "stackName": f"{env}-{stack}",
                "requiresBootstrapStackVersion": requires,
                "bootstrapStackVersionSsmParameter": BOOTSTRAP_PARAMETER,
            },
            "dependencies": [f"{artifact_id}.assets"],
        }
    (nested / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}), encoding="utf-8")
    return root
