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
