"""The compliance report: what ran, what was found, every acknowledgment with its reason."""

from __future__ import annotations

import csv
import io

import pytest
from aws_cdk import Acknowledgment, App, Environment, Stage, Tags, Validations

from governance.compliance_report import build_report
from governance.gate import enable_governance
from governance.policy import GovernancePolicy
from governance.rule_catalogue import builtin_rule_ids
from governance.rules import ALL_RULES
from stacks.kit_app import cdk_json_context
from tests.governance.findings_stack import role_with_wildcard_policy
from tests.helpers import ENVIRONMENTS

pytestmark = pytest.mark.synth


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_synth_writes_a_passing_markdown_and_csv_report_per_environment(synthesized, env):
    markdown = (synthesized.outdir / "compliance" / f"{env}-compliance.md").read_text()
    rows = list(csv.DictReader(io.StringIO((synthesized.outdir / "compliance" / f"{env}-compliance.csv").read_text())))
    assert f"# Compliance report: `{env}`" in markdown
    assert "**Result: PASS** — 0 unacknowledged finding(s)" in markdown
    for pack, rules in (("AwsSolutions", 131), ("HIPAA.Security", 90), ("NIST.800.53.R5", 85), ("Kit", len(ALL_RULES))):
        assert f"| {pack} | {rules} | 0 |" in markdown
    assert "`Kit-RequiredTags`" in markdown and "`AwsSolutions-IAM5`" in markdown  # rules evaluated are listed
    assert rows and {row["environment"] for row in rows} == {env}
    assert all(row["status"] == "acknowledged" and row["reason"] for row in rows)


def test_kit_synth_has_no_unacknowledged_findings(synthesized):
    reports = synthesized.kit.compliance_reports()
    assert [r.environment for r in reports] == list(ENVIRONMENTS)
    assert all(r.passed and r.unacknowledged == [] and r.resources_checked > 10 for r in reports)


def test_rule_catalogue_is_read_from_the_installed_packs():
    assert "AwsSolutions-IAM5" in builtin_rule_ids("AwsSolutions")
    assert "HIPAA.Security-CloudWatchLogGroupEncrypted" in builtin_rule_ids("HIPAA.Security")
    assert "NIST.800.53.R5-VPCFlowLogsEnabled" in builtin_rule_ids("NIST.800.53.R5")


def report_for(tmp_path, acknowledgments: list[str], tag: bool = True):
    app = App(outdir=str(tmp_path), context=cdk_json_context())
    stage = Stage(app, "review", env=Environment(account="123456789012", region="us-east-1"))
    policy = role_with_wildcard_policy(stage)
    for rule_id in acknowledgments:
        Validations.of(policy).acknowledge(Acknowledgment(id=rule_id, reason=f"reason for {rule_id}"))
    if tag:
        for key in ("Project", "Environment", "Owner", "CostCenter", "DataClassification"):
            Tags.of(stage).add(key, "x")
    packs = enable_governance(app, {"review": GovernancePolicy()})
    try:
        app.synth()  # as in app.py: the report is built after synth (tags are applied during it)
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    return build_report(stage, packs)


def test_report_lists_unacknowledged_findings_and_fails(tmp_path):
    report = report_for(tmp_path, [], tag=False)
    assert not report.passed
    found = {(f.pack, f.rule_id, f.resource_path) for f in report.unacknowledged}
    assert ("AwsSolutions", "AwsSolutions-IAM5[Resource::*]", "review/Stack/Policy/Resource") in found
    assert ("Kit", "Kit-RequiredTags[Missing::Owner]", "review/Stack/Role/Resource") in found
    assert "**Result: FAIL**" in report.to_markdown()
    assert (
        "review,AwsSolutions,AwsSolutions-IAM5[Resource::*],review/Stack/Policy/Resource,UNACKNOWLEDGED,"
        in report.to_csv()
    )


def test_report_records_each_acknowledgment_with_rule_path_and_reason(tmp_path):
    report = report_for(tmp_path, ["AwsSolutions-IAM5[Resource::*]"])
    assert report.passed
    [ack] = report.acknowledgments
    assert (ack.pack, ack.rule_id, ack.resource_path, ack.reason) == (
        "AwsSolutions",
        "AwsSolutions-IAM5[Resource::*]",
        "review/Stack/Policy",
        "reason for AwsSolutions-IAM5[Resource::*]",
    )
    assert (
        "| AwsSolutions | `AwsSolutions-IAM5[Resource::*]` | `review/Stack/Policy` | reason for" in report.to_markdown()
    )
    assert "| AwsSolutions | 131 | 0 | 1 |" in report.to_markdown()


def test_acknowledging_a_rule_no_pack_has_fails_the_report(tmp_path):
    report = report_for(tmp_path, ["AwsSolutions-IAM5[Resource::*]", "AwsSolutions-IAM55"])
    assert not report.passed
    assert [a.rule_id for a in report.unknown_acknowledgments] == ["AwsSolutions-IAM55"]
    assert "acknowledged-unknown-rule" in report.to_csv()
