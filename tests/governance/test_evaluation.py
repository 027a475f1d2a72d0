"""One evaluation per synth: the gate and the compliance reports share it, and the kit pack stays a
cdk-nag pack that any app can register (tests/packaging runs it from the installed wheel)."""

from __future__ import annotations

import functools
from collections import Counter
from types import SimpleNamespace

import pytest
from aws_cdk import Acknowledgment, App, Environment, Stack, Stage, Tags, Validations
from aws_cdk import aws_sagemaker as sagemaker
from cdk_nag import AwsSolutionsChecks, NagPack, NagRuleCompliance

from governance.compliance_report import build_report
from governance.evaluation import RecordedPack
from governance.gate import enable_governance
from governance.kit_pack import KitChecks
from governance.policy import GovernancePolicy
from governance.rules import ALL_RULES
from stacks.kit_app import cdk_json_context
from tests.governance.findings_stack import role_with_wildcard_policy

pytestmark = pytest.mark.synth

TAGS = ("Project", "Environment", "Owner", "CostCenter", "DataClassification")


def two_stage_app(tmp_path) -> tuple[App, list[Stage]]:
    """Two environments with findings of the same rules in both (an untagged role, a wildcard policy)."""
    app = App(outdir=str(tmp_path), context=cdk_json_context())
    stages = []
    for name in ("review", "audit"):
        stage = Stage(app, name, env=Environment(account="123456789012", region="us-east-1"))
        role_with_wildcard_policy(stage)
        stages.append(stage)
    return app, stages


def test_reports_use_the_synth_evaluation_not_a_second_one(tmp_path, monkeypatch):
    """Every kit check runs once per resource across synth and reports (a second `validate_scope`
    for the reports would run each twice), and every pack is evaluated once per stage."""
    checked: Counter[str] = Counter()
    evaluated: Counter[tuple[str, str]] = Counter()
    check_resource = KitChecks._check_resource
    validate_scope = NagPack.validate_scope

    def counting_check(self, node):
        checked[node.node.path] += 1
        return check_resource(self, node)

    @functools.wraps(validate_scope)
    def counting_validate_scope(self, scope):
        evaluated[(self.name, scope.node.path)] += 1
        return validate_scope(self, scope)

    monkeypatch.setattr(KitChecks, "_check_resource", counting_check)
    monkeypatch.setattr(NagPack, "validate_scope", counting_validate_scope)
    app, stages = two_stage_app(tmp_path)
    packs = enable_governance(app, {stage.stage_name: GovernancePolicy() for stage in stages})
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()  # untagged: the gate fails synth
    reports = [build_report(stage, packs) for stage in stages]

    assert checked and set(checked.values()) == {1}, checked
    for pack in packs:
        assert evaluated[(pack.name, "review")] == 1 and evaluated[(pack.name, "audit")] == 1
    for report in reports:  # ... and the reports still list what the gate found
        found = {(f.pack, f.rule_id, f.resource_path) for f in report.unacknowledged}
        stage = report.environment
        assert ("AwsSolutions", "AwsSolutions-IAM5[Resource::*]", f"{stage}/Stack/Policy/Resource") in found
        assert ("Kit", "Kit-RequiredTags[Missing::Owner]", f"{stage}/Stack/Role/Resource") in found
        assert not report.passed


def test_recorded_pack_reports_what_the_pack_reports_for_the_whole_app(tmp_path):
    """The merged per-stage results are `validate_scope(app)`'s report: same rules, resources, order."""
    app, _ = two_stage_app(tmp_path)
    app.synth()  # no pack registered: prepares the tree (tags, dependencies) as at validation time
    for pack in (AwsSolutionsChecks(app, verbose=True), KitChecks(app, policies={})):
        expected = pack.validate_scope(app)
        merged = RecordedPack(pack).validate(SimpleNamespace(app_construct=app))

        def shape(report):
            return [
                (v.rule_name, v.description, v.severity, [r.construct_path for r in v.violating_resources])
                for v in report.violations
            ]

        assert shape(expected), "the app has findings of this pack"
        assert shape(merged) == shape(expected)
        assert merged.success is False


def untagged_model_app(tmp_path, *, acknowledge: str | None = None) -> App:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "TeamStack", env={"account": "111122223333", "region": "eu-west-1"})
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn="arn:aws:iam::111122223333:role/model",
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image="111122223333.dkr.ecr.eu-west-1.amazonaws.com/m:1"
        ),
    )
    for key in TAGS:
        Tags.of(app).add(key, "x")
    if acknowledge:
        Validations.of(model).acknowledge(Acknowledgment(id=acknowledge, reason="accepted for the test"))
    Validations.of(app).add_plugins(KitChecks(app, policies={}))
    return app


def test_kit_pack_rejects_a_non_compliant_construct_in_another_app(tmp_path):
    app = untagged_model_app(tmp_path)
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "Kit-SageMakerModelIsolated[NetworkIsolationOff]" in str(failure.value)
    assert "Kit-SageMakerModelIsolated[NoVpcConfig]" in str(failure.value)


def test_acknowledgments_stay_finding_level(tmp_path):
    """Acknowledging one finding of a rule leaves the rule's other finding on the same resource."""
    app = untagged_model_app(tmp_path, acknowledge="Kit-SageMakerModelIsolated[NetworkIsolationOff]")
    pack = KitChecks(app, policies={})
    found = {
        violation.rule_name
        for violation in pack.validate_scope(app).violations
        if "ModelIsolated" in violation.rule_name
    }
    assert found == {"Kit-SageMakerModelIsolated[NoVpcConfig]"}


class _Throws:
    rule_id = "Throws"
    info = "info"
    explanation = "explanation"
    resource_types = ("AWS::SageMaker::Model",)

    def check(self, node, policy):
        raise ValueError("cannot read this resource")


class _OtherType:
    rule_id = "OtherType"
    info = "info"
    explanation = "explanation"
    resource_types = ("AWS::S3::Bucket",)
    calls = 0

    def check(self, node, policy):
        type(self).calls += 1
        return NagRuleCompliance.NON_COMPLIANT


def test_a_rule_that_throws_is_a_finding_and_other_types_are_not_checked(tmp_path):
    app = untagged_model_app(tmp_path)
    pack = KitChecks(app, policies={}, rules=(_Throws(), _OtherType()))
    [violation] = pack.validate_scope(app).violations
    assert violation.rule_name == "Kit-Throws"
    assert "cannot read this resource" in violation.description
    assert [r.construct_path for r in violation.violating_resources] == ["TeamStack/Model"]
    assert _OtherType.calls == 0


def test_declared_resource_types_are_the_only_ones_a_rule_applies_to(synthesized):
    """A rule's `resource_types` lets the pack skip it for other resources: for every resource of
    the kit app of another type, the rule's own check says NOT_APPLICABLE."""
    from aws_cdk import CfnResource

    resources = [n for n in synthesized.kit.app.node.find_all() if isinstance(n, CfnResource)]
    by_type = {}
    for node in resources:
        by_type.setdefault(node.cfn_resource_type, node)  # one resource of each type
    typed = [rule for rule in ALL_RULES if getattr(rule, "resource_types", None) is not None]
    assert len(typed) >= 15 and len(by_type) > 30
    for rule in typed:
        for resource_type, node in by_type.items():
            if resource_type not in rule.resource_types:
                assert rule.check(node, GovernancePolicy()) == NagRuleCompliance.NOT_APPLICABLE, (
                    rule.rule_id,
                    resource_type,
                )


def test_acknowledgments_read_from_the_assembly_are_those_on_the_constructs(synthesized):
    """The reports read acknowledgments from the assembly the synth wrote (stacks' metadata files,
    tree.json for the order): the same findings, reasons and order as reading every construct."""
    from governance.compliance_report import _acknowledgments, _metadata_from_assembly

    for stage in synthesized.kit.stages:
        assert _metadata_from_assembly(stage, "aws:cdk:acknowledged-rules") is not None  # not the fallback
        from_assembly = _acknowledgments(stage, synthesized=True)
        assert from_assembly and from_assembly == _acknowledgments(stage)
