"""cfn-lint over every synthesized template: zero errors."""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.helpers import ENVIRONMENTS, STACKS


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_template_passes_cfn_lint(synthesized, env, stack):
    region = synthesized.configs[env].region
    matches = lint_file(synthesized.template_paths[(env, stack)], ManualArgs(regions=[region]))
    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.severity == "error"]
    assert errors == []
    warnings = [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity != "error"]
    print(f"{env}/{stack}: {len(warnings)} warning(s)", *warnings, sep="\n  ")
