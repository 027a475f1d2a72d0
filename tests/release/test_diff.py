"""`make diff` offline: a real change against a real git baseline, through the real CDK CLI."""

from __future__ import annotations

import json
import shutil

import yaml

from tests.release.conftest import PROJECT_DIR, clean_environment, run


def test_offline_diff_names_a_widened_security_group_and_a_bigger_instance(tmp_path, empty_home):
    # The deliberate change: staging's agent ALB admits 10.0.0.0/8 instead of its VPC, and the
    # primary variant moves to a larger instance. The baseline is HEAD, synthesized in a worktree.
    config = tmp_path / "config"
    shutil.copytree(PROJECT_DIR / "config", config)
    data = yaml.safe_load((config / "staging.yaml").read_text())
    assert data["agent"]["ingress_cidrs"] == ["10.40.0.0/16"]
    data["agent"]["ingress_cidrs"] = ["10.0.0.0/8"]
    old_type = data["inference"]["variants"][0]["instance_type"]
    data["inference"]["variants"][0]["instance_type"] = "ml.g5.12xlarge"
    (config / "staging.yaml").write_text(yaml.safe_dump(data))

    env = clean_environment(empty_home, KIT_CONFIG_DIR=str(config))
    result = run(["make", "diff", "ENV=staging", "BASE=HEAD", "FAIL_ON=broadening"], PROJECT_DIR, env)

    assert result.returncode == 2, result.stderr[-3000:]   # make passes on the tool's 2 as its own 2
    assert "No AWS credentials (or --offline): comparing with a git baseline." in result.stderr
    assert "failing: --fail-on broadening is met" in result.stderr
    out = result.stdout
    # The summary comes first and names the stacks compared and the change.
    assert out.index("## Security summary: `staging`") < out.index("## cdk diff: `staging`")
    assert "Stacks compared: `staging-Agent`, `staging-Foundation`, `staging-Inference`, `staging-Mlflow`, `staging-Network`, `staging-Observability`" in out
    assert "[broadening] `staging-Agent`" in out and "from 10.0.0.0/8 (widened from 10.40.0.0/16)" in out
    assert f"InstanceType: {old_type} -> ml.g5.12xlarge" in out
    # The full cdk diff follows, from the CLI itself.
    assert "Stack staging/Agent (staging-Agent)" in out and "10.0.0.0/8" in out
    assert "Stack staging/Network (staging-Network)\nThere were no differences" in out
    report = (PROJECT_DIR / "cdk.diff" / "staging-diff.md").read_text()
    assert "widened from 10.40.0.0/16" in report
    summary = json.loads((PROJECT_DIR / "cdk.diff" / "staging-summary.json").read_text())
    assert summary["broadening_count"] >= 1 and summary["baseline"].startswith("HEAD@")
    assert not any("kit-baseline-" in line for line in run(["git", "worktree", "list"], PROJECT_DIR, env).stdout.splitlines())


def test_unknown_base_ref_is_a_clear_error(empty_home):
    env = clean_environment(empty_home)
    result = run([str(PROJECT_DIR / ".venv/bin/python"), "-m", "release.diff", "--env", "dev", "--base", "no-such-ref"], PROJECT_DIR, env, timeout=60)
    assert result.returncode == 1
    assert "diff failed: unknown git ref 'no-such-ref'" in result.stderr


def test_unknown_environment(empty_home):
    env = clean_environment(empty_home)
    result = run([str(PROJECT_DIR / ".venv/bin/python"), "-m", "release.diff", "--env", "qa"], PROJECT_DIR, env, timeout=60)
    assert result.returncode == 1 and "unknown environment(s) qa" in result.stderr
