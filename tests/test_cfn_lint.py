"""cfn-lint over every synthesized template: zero errors."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_by_config
from cfnlint.rules import Match

from tests.helpers import ENVIRONMENTS, STACKS


@pytest.fixture(scope="module")
def lint_matches(synthesized) -> dict[Path, list[Match]]:
    """cfn-lint's matches per template. One run per region, not per template: cfn-lint loads its
    rules once per run (≈ 0.4 s, more than linting one template takes)."""
    by_region: dict[str, list[Path]] = defaultdict(list)
    for (env, _), path in synthesized.template_paths.items():
        by_region[synthesized.configs[env].region].append(path)
    matches: dict[Path, list[Match]] = {path: [] for path in synthesized.template_paths.values()}
    for region, paths in by_region.items():
        for match in lint_by_config(ManualArgs(templates=[str(path) for path in paths], regions=[region])):
            matches[Path(match.filename)].append(match)
    return matches


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_template_passes_cfn_lint(synthesized, lint_matches, env, stack):
    matches = lint_matches[synthesized.template_paths[(env, stack)]]
    errors = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches if m.rule.severity == "error"]
    assert errors == []
    warnings = [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity != "error"]
    print(f"{env}/{stack}: {len(warnings)} warning(s)", *warnings, sep="\n  ")
