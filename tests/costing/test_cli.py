"""`python -m costing` (`make cost`): the table per environment, and config errors that name file and field."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kit_config.project import PROJECT_DIR
from tests.kit_config.conftest import config_dir, edit  # noqa: F401  (fixture)


def run_cost(*args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if config:
        env["KIT_CONFIG_DIR"] = str(config)
    return subprocess.run(
        [sys.executable, "-m", "costing", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_table_for_one_environment():
    result = run_cost("dev")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "dev (us-east-1): monthly cost envelope"
    assert "staging" not in result.stdout.split("Unit prices")[0]
    row = next(line for line in lines if line.startswith("Endpoint variant primary"))
    assert row.split()[3:5] == ["$0.00", "$1,474.60"]
    total = next(line for line in lines if line.startswith("Total"))
    # dev's Lambda reserves no concurrency: config bounds its cost per request, not its maximum.
    assert total.split()[1:] == ["$578.40", "$2,053.00", "+", "usage", "maximum", "excludes", "Agent", "on", "Lambda"]
    # The idle floor with and without scale to zero: one ml.g6.xlarge ($737.30) apart.
    floor = next(line for line in lines if line.startswith("Idle floor:"))
    assert floor.startswith("Idle floor: $578.40/month with scale to zero; $1,315.70/month without it")
    assert next(line for line in lines if line.startswith("Agent on Lambda")).split()[3:5] == ["$0.00", "unbounded"]
    # 2 x 2 ml.g6.xlarge x $1.010/h during an update (SageMaker's blue/green of every copy); the extra fleet for
    # at most the 4,200 s rollout timeout (a component's update has no termination wait).
    assert (
        "During an endpoint update (blue/green, both fleets): up to 4 x ml.g6.xlarge for the rollout "
        "(at most 1.17 h): $4.04/h at the peak, +$2.02/h over the fully scaled-out endpoint, at most +$2.36 per update"
    ) in result.stdout
    assert "Budget: $1,800.00/month (alerts at 80%, 100%, forecast 100%) - 311% of the minimum" in result.stdout
    # Every price shown with its source, date and whether it was checked.
    assert "Interface endpoint: us-east-1 $0.01, us-west-2 $0.01, eu-west-1 $0.011" in result.stdout
    assert "[AWS Fargate pricing page, 2025-2026, corroborated]" in result.stdout


def test_every_environment_by_default_in_promotion_order():
    result = run_cost()
    assert result.returncode == 0, result.stderr
    headers = [line.split()[0] for line in result.stdout.splitlines() if line.endswith("monthly cost envelope")]
    assert headers == ["dev", "staging", "prod"]


def test_budget_below_the_minimum_is_called_out(config_dir):  # noqa: F811
    edit(config_dir, "staging", lambda budget: budget.update(monthly_limit_usd=1000), section="budget")
    result = run_cost("staging", config=config_dir)
    assert result.returncode == 0, result.stderr
    assert "Budget: $1,000.00/month" in result.stdout and "BELOW the minimum" in result.stdout


def test_config_error_names_file_and_field(config_dir):  # noqa: F811
    edit(config_dir, "prod", lambda budget: budget.update(monthly_limit_usd=-5), section="budget")
    result = run_cost("prod", config=config_dir)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "prod.yaml: budget.monthly_limit_usd: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.stderr
