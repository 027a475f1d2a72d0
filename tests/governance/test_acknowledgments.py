"""Every acknowledgment in the kit answers a finding that really occurs (no stale or typo'd ones).

The app is built once more with `Validations.of(...).acknowledge` recording instead of applying,
so the packs report every raw finding; each recorded acknowledgment must match one of them on
the construct it sits on (or a construct below it).
"""

from __future__ import annotations

import pytest
from aws_cdk import App, Validations

from kit_config import load_environments
from stacks.kit_app import build_kit_app, cdk_json_context
from tests.helpers import ENVIRONMENTS

pytestmark = pytest.mark.synth


class _Recorder:
    """Stands in for `Validations.of(scope)`: records acknowledgments, passes everything else on."""

    def __init__(self, validations, scope, sink: list):
        self._validations, self._path, self._sink = validations, scope.node.path, sink

    def acknowledge(self, *acknowledgments) -> None:
        self._sink.extend((self._path, ack.id, ack.reason) for ack in acknowledgments)

    def __getattr__(self, name):
        return getattr(self._validations, name)


@pytest.fixture(scope="module")
def raw_findings_and_acknowledgments(tmp_path_factory):
    recorded: list[tuple[str, str, str]] = []
    original = Validations.of
    Validations.of = classmethod(lambda cls, scope: _Recorder(original(scope), scope, recorded))  # type: ignore[method-assign]
    try:
        app = App(outdir=str(tmp_path_factory.mktemp("raw")), context=cdk_json_context())
        kit = build_kit_app(app, load_environments(list(ENVIRONMENTS)))
    finally:
        Validations.of = original  # type: ignore[method-assign]

    raw = set()
    for pack in kit.packs:
        result = pack.validate_scope(app)
        for violation in result.violations:
            for resource in violation.violating_resources:
                raw.add((violation.rule_name, resource.construct_path))
    return raw, recorded


def test_every_acknowledgment_matches_a_real_finding(raw_findings_and_acknowledgments):
    raw, recorded = raw_findings_and_acknowledgments
    assert recorded, "the kit acknowledges some findings; none were recorded"
    stale = [
        (path, rule_id)
        for path, rule_id, _ in recorded
        if not any(rule == rule_id and (where == path or where.startswith(path + "/")) for rule, where in raw)
    ]
    assert stale == []


def test_every_acknowledgment_has_a_specific_reason(raw_findings_and_acknowledgments):
    _, recorded = raw_findings_and_acknowledgments
    for path, rule_id, reason in recorded:
        assert len(reason) >= 40, (path, rule_id, reason)
        assert "[" in rule_id or not rule_id.startswith("AwsSolutions-IAM5"), "IAM5 must be acknowledged per finding"


def test_finding_ids_have_one_form():
    from kit_constructs.acknowledgments import finding_id

    assert finding_id("AwsSolutions-S1") == "AwsSolutions-S1"
    assert finding_id("AwsSolutions-IAM5", "Resource", "*") == "AwsSolutions-IAM5[Resource::*]"
    assert finding_id("Kit-S3BucketBaseline", "NotKmsEncrypted") == "Kit-S3BucketBaseline[NotKmsEncrypted]"
    assert finding_id("Kit-X", "NotFit", "primary", "2Instances") == "Kit-X[NotFit::primary::2Instances]"
    for malformed in (("AwsSolutions-IAM5[Resource::*]",), ("AwsSolutions-IAM5", ""), ("",)):
        with pytest.raises(ValueError):
            finding_id(*malformed)


def test_acknowledge_takes_only_built_finding_ids_and_parts_render_as_the_packs_print_them():
    from aws_cdk import Environment, Stack
    from aws_cdk import aws_s3 as s3

    from kit_constructs.acknowledgments import acknowledge, finding_id, logical_arn, resolved

    app = App(context=cdk_json_context())  # the kit's flags: a stack in a known region names its partition
    stack = Stack(app, "S", env=Environment(account="111111111111", region="us-east-1"))
    bucket = s3.Bucket(stack, "Bucket")
    with pytest.raises(TypeError, match="finding_id"):
        acknowledge(bucket, {"AwsSolutions-S1": "hand-made id"})
    acknowledge(bucket, {finding_id("AwsSolutions-S1"): "built id"})
    assert logical_arn(bucket) == f"<{stack.get_logical_id(bucket.node.default_child)}.Arn>"
    assert resolved(stack, f"arn:{stack.partition}:s3:::{stack.account}") == "arn:aws:s3:::111111111111"
    agnostic = Stack(app, "Agnostic")  # no account: the token stays a Ref, which no finding id shows
    with pytest.raises(ValueError, match="does not resolve to a literal"):
        resolved(agnostic, f"arn:aws:s3:::{agnostic.account}")
