"""Per-environment compliance report (Markdown and CSV), assembled by the kit.

cdk-nag 3 writes no report of its own and leaves `validation-report.json` empty on success, so
this module takes each pack's unacknowledged findings in one environment's stage from the synth's
own evaluation (`governance.evaluation`; a pack the synth did not evaluate there is run over the
stage with `validate_scope`), and reads every acknowledgment from construct metadata, where
`Validations.of(construct).acknowledge(...)` records it.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aws_cdk import CfnResource, Stage, Validations
from cdk_nag import NagPack
from constructs import IConstruct

from governance.evaluation import recorded_violations
from governance.kit_pack import PACK_NAME as KIT_PACK
from governance.kit_pack import KitChecks
from governance.rule_catalogue import builtin_rule_ids, cdk_nag_version

CDK_VALIDATOR = "CloudFormation-Validate"  # aws-cdk-lib's built-in template validator
REPORT_DIR_NAME = "compliance"


@dataclass(frozen=True)
class Finding:
    pack: str
    rule_id: str
    resource_path: str
    acknowledged: bool
    reason: str = ""

    @property
    def status(self) -> str:
        return "acknowledged" if self.acknowledged else "UNACKNOWLEDGED"


@dataclass(frozen=True)
class PackSummary:
    name: str
    rule_ids: tuple[str, ...]
    unacknowledged: int
    acknowledged: int


@dataclass
class ComplianceReport:
    environment: str
    account: str
    region: str
    resources_checked: int
    packs: list[PackSummary]
    findings: list[Finding]
    unknown_acknowledgments: list[Finding] = field(default_factory=list)
    generated_at: str = ""
    git_commit: str = ""

    @property
    def unacknowledged(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.acknowledged]

    @property
    def acknowledgments(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.acknowledged]

    @property
    def passed(self) -> bool:
        return not self.unacknowledged and not self.unknown_acknowledgments

    def to_markdown(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"# Compliance report: `{self.environment}`",
            "",
            f"- Account / region: `{self.account}` / `{self.region}`",
            f"- Generated: {self.generated_at} from git commit `{self.git_commit or 'unknown'}` (cdk-nag {cdk_nag_version()})",
            f"- Resources checked: {self.resources_checked}",
            f"- **Result: {verdict}** — {len(self.unacknowledged)} unacknowledged finding(s), "
            f"{len(self.acknowledgments)} acknowledgment(s)"
            + (
                f", {len(self.unknown_acknowledgments)} acknowledgment(s) of unknown rules"
                if self.unknown_acknowledgments
                else ""
            ),
            "",
            "## Packs run",
            "",
            "| Pack | Rules evaluated | Unacknowledged findings | Acknowledged findings |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {pack.name} | {len(pack.rule_ids) or '—'} | {pack.unacknowledged} | {pack.acknowledged} |"
            for pack in self.packs
        ]
        lines += ["", "## Unacknowledged findings", ""]
        lines += _finding_table(self.unacknowledged, with_reason=False) if self.unacknowledged else ["None."]
        lines += ["", "## Acknowledgments", ""]
        lines += [
            "Each is recorded with `Validations.of(construct).acknowledge(...)` next to the construct it concerns.",
            "",
        ]
        lines += _finding_table(self.acknowledgments, with_reason=True) if self.acknowledgments else ["None."]
        if self.unknown_acknowledgments:
            lines += ["", "## Acknowledgments of rules no pack evaluates (typos or stale)", ""]
            lines += _finding_table(self.unknown_acknowledgments, with_reason=True)
        lines += ["", "## Rules evaluated", ""]
        for pack in self.packs:
            if pack.rule_ids:
                lines += [f"<details><summary>{pack.name} ({len(pack.rule_ids)} rules)</summary>", ""]
                lines += [", ".join(f"`{rule_id}`" for rule_id in pack.rule_ids), "", "</details>", ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["environment", "pack", "rule_id", "resource_path", "status", "reason"])
        for finding in self.findings + self.unknown_acknowledgments:
            status = finding.status if finding not in self.unknown_acknowledgments else "acknowledged-unknown-rule"
            writer.writerow(
                [self.environment, finding.pack, finding.rule_id, finding.resource_path, status, finding.reason]
            )
        return buffer.getvalue()


def build_report(stage: Stage, packs: list[NagPack]) -> ComplianceReport:
    """Evaluate `packs` over one environment's stage and collect its acknowledgments."""
    findings: list[Finding] = []
    summaries = []
    synthesized = any(recorded_violations(pack, stage) is not None for pack in packs)
    acknowledgments = _acknowledgments(stage, synthesized=synthesized)
    for pack in packs:
        pack_name = pack.name  # a jsii round trip for cdk-nag's own packs: read once
        violations = recorded_violations(pack, stage)
        if violations is None:
            violations = pack.validate_scope(stage).violations
        unacknowledged = [
            Finding(pack_name, violation.rule_name, resource.construct_path, acknowledged=False)
            for violation in violations
            for resource in violation.violating_resources
        ]
        acknowledged = [ack for ack in acknowledgments if ack.pack == pack_name]
        findings += unacknowledged + acknowledged
        summaries.append(PackSummary(pack_name, _rule_ids(pack), len(unacknowledged), len(acknowledged)))
    builtin = [ack for ack in acknowledgments if ack.pack == CDK_VALIDATOR]
    if builtin:
        summaries.append(PackSummary(f"{CDK_VALIDATOR} (aws-cdk-lib built-in)", (), 0, len(builtin)))
    known_packs = {pack.name for pack in packs} | {CDK_VALIDATOR}
    known_rules = {rule_id for summary in summaries for rule_id in summary.rule_ids}
    unknown = [
        ack
        for ack in acknowledgments
        if ack.pack not in known_packs or (ack.pack != CDK_VALIDATOR and ack.rule_id.split("[")[0] not in known_rules)
    ]
    return ComplianceReport(
        environment=stage.stage_name,
        account=stage.account,
        region=stage.region,
        # jsii hands each construct out as its own Python class: isinstance, not a round trip per node
        resources_checked=sum(1 for node in stage.node.find_all() if isinstance(node, CfnResource)),
        packs=summaries,
        findings=findings + builtin,
        unknown_acknowledgments=unknown,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        git_commit=_git_commit(),
    )


def write_report(report: ComplianceReport, outdir: Path) -> list[Path]:
    """Write `<outdir>/compliance/<env>-compliance.{md,csv}`; returns the paths."""
    directory = outdir / REPORT_DIR_NAME
    directory.mkdir(parents=True, exist_ok=True)
    markdown = directory / f"{report.environment}-compliance.md"
    table = directory / f"{report.environment}-compliance.csv"
    markdown.write_text(report.to_markdown(), encoding="utf-8")
    table.write_text(report.to_csv(), encoding="utf-8")
    return [markdown, table]


def _acknowledgments(scope: IConstruct, *, synthesized: bool = False) -> list[Finding]:
    """Every acknowledgment in `scope`, in construct-tree order (pre-order, as `find_all`).

    `synthesized`: this process just synthesized `scope` (a stage), so its cloud assembly holds
    the same metadata — read from there (each metadata entry read through jsii costs four round
    trips; the kit has ~1,300 entries per synth). Falls back to the construct tree whenever the
    assembly does not account for everything.
    """
    acknowledged_rules = Validations.ACKNOWLEDGED_RULES_METADATA_KEY  # a jsii round trip: read once
    entries = _metadata_from_assembly(scope, acknowledged_rules) if synthesized else None
    if entries is None:
        entries = (
            (construct.node.path, entry.type, entry.data)
            for construct in scope.node.find_all()
            for entry in construct.node.metadata
        )
    found = []
    for path, kind, data in entries:
        if kind != acknowledged_rules or not data:
            continue
        for qualified_id, reason in data.items():
            pack, rule_id = _split_rule_id(qualified_id)
            found.append(Finding(pack, rule_id, path, acknowledged=True, reason=reason))
    return found


def _metadata_from_assembly(stage: IConstruct, kind: str) -> list[tuple[str, str, object]] | None:
    """(construct path, type, data) of the `kind` metadata entries in `stage`, in tree pre-order, from
    the cloud assembly (stacks' metadata files, tree.json for the order); constructs outside any
    stack are read from the tree. None if the assembly is not complete for this (a nested stage,
    no tree file, an entry the tree does not place)."""
    try:
        if not Stage.is_stage(stage):
            return None
        stage_dir, root_dir = Path(stage.outdir), Path(stage.node.root.outdir)
        root_manifest = json.loads((root_dir / "manifest.json").read_text())
        [tree_file] = [a["properties"]["file"] for a in root_manifest["artifacts"].values() if a["type"] == "cdk:tree"]
        node = json.loads((root_dir / tree_file).read_text())["tree"]
        for segment in stage.node.path.split("/"):
            node = node["children"][segment]
        manifest = json.loads((stage_dir / "manifest.json").read_text())
        stack_metadata: dict[str, list] = {}
        for artifact in manifest["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            metadata = artifact.get("metadata")
            if metadata is None and artifact.get("additionalMetadataFile"):
                metadata = json.loads((stage_dir / artifact["additionalMetadataFile"]).read_text())
            stack_metadata[artifact["displayName"]] = dict(metadata or {})
    except (OSError, KeyError, TypeError, ValueError):
        return None
    entries: list[tuple[str, str, object]] = []
    pending = [(node, None)]
    while pending:  # pre-order, children in order (tree.json keeps the construct order)
        current, stack_path = pending.pop()
        path = current.get("path")
        if not isinstance(path, str) or "id" not in current:
            return None  # a split or unexpected tree file
        if stack_path is None and path in stack_metadata:
            stack_path = path
        if stack_path is None:  # outside any stack: not in the assembly, read from the tree
            if current.get("constructInfo", {}).get("fqn") == "aws-cdk-lib.Stage" and path != stage.node.path:
                return None  # a nested stage: its own assembly
            construct = stage
            for segment in path.split("/")[len(stage.node.path.split("/")) :]:
                construct = construct.node.find_child(segment)
            entries += [(path, entry.type, entry.data) for entry in construct.node.metadata if entry.type == kind]
        else:
            for entry in stack_metadata[stack_path].pop("/" + path, []):
                if entry.get("type") == kind:
                    entries.append((path, kind, entry.get("data")))
        pending += [(child, stack_path) for child in reversed(list((current.get("children") or {}).values()))]
    if any(any(e.get("type") == kind for e in rest) for left in stack_metadata.values() for rest in left.values()):
        return None  # an entry the tree does not place
    return entries


def _split_rule_id(qualified_id: str) -> tuple[str, str]:
    """`Annotation::AwsSolutions-IAM5[...]`, `Kit-X`, `CloudFormation-Validate::W3010` -> (pack, rule id)."""
    prefix, separator, rest = qualified_id.partition("::")
    if separator and prefix.lower() == "annotation":
        qualified_id = rest
    elif separator and prefix == CDK_VALIDATOR:
        return CDK_VALIDATOR, rest
    elif separator and "-" not in prefix.split(".")[0] and rest.startswith(prefix + "-"):
        qualified_id = rest  # CDK-core form "<pack>::<pack>-<rule>"
    for pack in ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", KIT_PACK):
        if qualified_id.startswith(pack + "-"):
            return pack, qualified_id
    return "unknown", qualified_id


def _rule_ids(pack: NagPack) -> tuple[str, ...]:
    if isinstance(pack, KitChecks):
        return tuple(f"{KIT_PACK}-{rule.rule_id}" for rule in pack.rules)
    return builtin_rule_ids(pack.name)


def _finding_table(findings: list[Finding], *, with_reason: bool) -> list[str]:
    header = "| Pack | Rule | Resource path |" + (" Reason |" if with_reason else "")
    rule = "|---|---|---|" + ("---|" if with_reason else "")
    rows = [
        f"| {f.pack} | `{f.rule_id}` | `{f.resource_path}` |" + (f" {_cell(f.reason)} |" if with_reason else "")
        for f in sorted(findings, key=lambda f: (f.pack, f.resource_path, f.rule_id))
    ]
    return [header, rule, *rows]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
