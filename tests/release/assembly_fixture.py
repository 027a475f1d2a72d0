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


def models_on_variants(template: dict) -> dict:
    """An Inference template whose inference components are folded back into models on their variants.

    What dev deployed before its endpoint hosted an inference component (its snapshot before issue 23,
    for the parts update hazards and preflight read): each component's model named on its variant, no
    managed instance scaling, no component, and the copy-count scalable target back on the variant's
    instance count.
    """
    changed = copy.deepcopy(template)
    resources = changed["Resources"]
    components = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SageMaker::InferenceComponent"
    }
    [endpoint] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SageMaker::Endpoint"]
    [config] = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
    for variant in config["ProductionVariants"]:
        [component] = [c for c in components.values() if c["VariantName"] == variant["VariantName"]]
        variant["ModelName"] = component["Specification"]["ModelName"]
        del variant["ManagedInstanceScaling"]
    for logical_id in components:
        del resources[logical_id]
    by_name = {c["InferenceComponentName"]: c["VariantName"] for c in components.values()}
    for resource in resources.values():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget" and properties["ResourceId"].startswith(
            "inference-component/"
        ):
            variant = by_name[properties["ResourceId"].removeprefix("inference-component/")]
            properties["ResourceId"] = f"endpoint/{endpoint['EndpointName']}/variant/{variant}"
            properties["ScalableDimension"] = "sagemaker:variant:DesiredInstanceCount"
    return changed
