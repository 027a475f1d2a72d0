"""Read a synthesized cloud assembly (`cdk.out/`): stages, stacks, templates, compliance CSVs."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StackArtifact:
    environment: str
    stack_id: str  # "Network"
    display_name: str  # "dev/Network": the CLI's selector for this stack
    stack_name: str  # "dev-Network": the CloudFormation stack name
    template_path: Path
    dependencies: tuple[str, ...] = ()  # stack ids within the same environment
    tags: dict = field(default_factory=dict, compare=False, hash=False)

    def template(self) -> dict:
        return json.loads(self.template_path.read_text(encoding="utf-8"))


def _manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def environments(assembly_dir: Path) -> list[str]:
    """The stages (environments) in an assembly, in manifest order."""
    manifest = _manifest(assembly_dir)
    return [
        artifact["properties"]["displayName"] if "displayName" in artifact.get("properties", {}) else name
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "cdk:cloud-assembly"
    ]


def stacks(assembly_dir: Path, environment: str) -> list[StackArtifact]:
    """The CloudFormation stacks of one environment's stage (empty if the stage is absent)."""
    nested = assembly_dir / f"assembly-{environment}"
    if not (nested / "manifest.json").is_file():
        return []
    artifacts = _manifest(nested).get("artifacts", {})
    by_artifact_id = {}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        display = artifact.get("displayName", artifact_id)
        by_artifact_id[artifact_id] = (display, properties, artifact)
    result = []
    for artifact_id, (display, properties, artifact) in by_artifact_id.items():
        dependencies = tuple(
            by_artifact_id[dep][0].split("/")[-1] for dep in artifact.get("dependencies", []) if dep in by_artifact_id
        )
        result.append(
            StackArtifact(
                environment=environment,
                stack_id=display.split("/")[-1],
                display_name=display,
                stack_name=properties.get("stackName", artifact_id),
                template_path=nested / properties["templateFile"],
                dependencies=dependencies,
                tags=properties.get("tags", {}),
            )
        )
    return result


def templates(assembly_dir: Path | None, environment: str) -> dict[str, dict]:
    """{stack name: template} for one environment; {} when there is no assembly or stage."""
    if assembly_dir is None:
        return {}
    return {stack.stack_name: stack.template() for stack in stacks(assembly_dir, environment)}


@dataclass(frozen=True)
class ComplianceRow:
    pack: str
    rule_id: str
    resource_path: str
    status: str
    reason: str


def compliance_rows(assembly_dir: Path | None, environment: str) -> list[ComplianceRow] | None:
    """Rows of `<assembly>/compliance/<env>-compliance.csv`; None when the report is missing."""
    if assembly_dir is None:
        return None
    path = assembly_dir / "compliance" / f"{environment}-compliance.csv"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            ComplianceRow(row["pack"], row["rule_id"], row["resource_path"], row["status"], row.get("reason", ""))
            for row in csv.DictReader(handle)
        ]
