"""`make diff` offline: a real change against a real git baseline, through the real CDK CLI."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from kit_config.project import PROJECT_DIR
from tests.release.conftest import clean_environment, run

pytestmark = pytest.mark.synth


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

    assert result.returncode == 2, result.stderr[-3000:]  # make passes on the tool's 2 as its own 2
    assert "No AWS credentials (or --offline): comparing with a git baseline." in result.stderr
    assert "failing: --fail-on broadening is met" in result.stderr
    # The primary variant is autoscaled: its instance type change would fail the deploy.
    assert "failing: update hazard(s) found, the deploy would fail" in result.stderr
    out = result.stdout
    assert out.index("## Update hazards: `staging` (1; deploying this change would fail)") < out.index(
        "## Security summary: `staging`"
    )
    assert (
        f"staging/staging-Inference: endpoint governed-agents-staging-llm, variant 'primary': instance type {old_type} -> ml.g5.12xlarge"
        in out
    )
    assert "set `autoscaling.registered: false` on variant 'primary' in config/staging.yaml" in out
    # The summary comes first and names the stacks compared and the change.
    assert out.index("## Security summary: `staging`") < out.index("## cdk diff: `staging`")
    assert (
        "Stacks compared: `staging-Agent`, `staging-Foundation`, `staging-Inference`, `staging-Mlflow`, `staging-Network`, `staging-Observability`"
        in out
    )
    assert "[broadening] `staging-Agent`" in out and "from 10.0.0.0/8 (widened from 10.40.0.0/16)" in out
    assert f"InstanceType: {old_type} -> ml.g5.12xlarge" in out
    # The full cdk diff follows, from the CLI itself.
    assert "Stack staging/Agent (staging-Agent)" in out and "10.0.0.0/8" in out
    assert "Stack staging/Network (staging-Network)\nThere were no differences" in out
    report = (PROJECT_DIR / "cdk.diff" / "staging-diff.md").read_text()
    assert "widened from 10.40.0.0/16" in report
    summary = json.loads((PROJECT_DIR / "cdk.diff" / "staging-summary.json").read_text())
    assert summary["broadening_count"] >= 1 and summary["baseline"].startswith("HEAD@")
    assert len(summary["update_hazards"]) == 1 and "variant 'primary'" in summary["update_hazards"][0]
    assert not any(
        "kit-baseline-" in line for line in run(["git", "worktree", "list"], PROJECT_DIR, env).stdout.splitlines()
    )


def test_unknown_base_ref_is_a_clear_error(empty_home):
    env = clean_environment(empty_home)
    result = run(
        [str(PROJECT_DIR / ".venv/bin/python"), "-m", "release.diff", "--env", "dev", "--base", "no-such-ref"],
        PROJECT_DIR,
        env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "diff failed: unknown git ref 'no-such-ref'" in result.stderr


def test_unknown_environment(empty_home):
    env = clean_environment(empty_home)
    result = run(
        [str(PROJECT_DIR / ".venv/bin/python"), "-m", "release.diff", "--env", "qa"], PROJECT_DIR, env, timeout=60
    )
    assert result.returncode == 1 and "unknown environment(s) qa" in result.stderr


# --- update hazards decide the exit status whatever --fail-on says ----------------------------------


def test_a_hazard_fails_the_diff_even_with_fail_on_none(monkeypatch, tmp_path):
    from release import diff
    from release.security_summary import summarize
    from release.update_hazards import Hazard

    hazard = Hazard(
        "dev", "dev-Inference", "governed-agents-dev-llm", "primary", "instance_type", "ml.g6.xlarge", "ml.g6.2xlarge"
    )
    results = {
        "with": [diff.EnvironmentDiff("dev", summarize("dev", {}, {}), "no differences", 0, [hazard])],
        "without": [diff.EnvironmentDiff("dev", summarize("dev", {}, {}), "no differences", 0, [])],
    }
    monkeypatch.setattr(diff, "credential_source", lambda *args: None)
    for case, expected in (("with", diff.HAZARD_STATUS), ("without", 0)):
        monkeypatch.setattr(diff, "offline_diff", lambda *args, case=case: (results[case], "HEAD@0000", "working tree"))
        status = diff.main(
            ["--env", "dev", "--out", str(tmp_path / case), "--fail-on", "none", "--project-dir", str(PROJECT_DIR)]
        )
        assert status == expected, case
    report = (tmp_path / "with" / "dev-diff.md").read_text()
    assert report.startswith(
        "## Update hazards: `dev` (1; deploying this change would fail)\n\n- dev/dev-Inference: endpoint"
    )
    assert "Update hazards" not in (tmp_path / "without" / "dev-diff.md").read_text()


def test_deployed_hazards_compare_with_the_deployed_templates(monkeypatch, tmp_path):
    from kit_config import load_environment
    from release import diff, preflight
    from release.assembly import stacks
    from tests.release.assembly_fixture import models_on_variants, snapshot, write_assembly
    from tests.release.aws_stubs import DEV_STACKS, StubbedAccount, not_found

    assembly = write_assembly(tmp_path / "out", "dev")
    # Deployed before dev's model became an inference component: the synthesized update switches its hosting.
    deployed = models_on_variants(snapshot("dev", "Inference"))
    account = StubbedAccount()
    cloudformation = account.stub("cloudformation")
    for name in DEV_STACKS:
        params = {"StackName": name, "TemplateStage": "Original"}
        if name == "dev-Inference":
            cloudformation.add_response("get_template", {"TemplateBody": json.dumps(deployed)}, params)
        else:
            not_found(
                cloudformation,
                "get_template",
                "ValidationError",
                message=f"Stack with id {name} does not exist",
                params=params,
            )
    monkeypatch.setattr(preflight, "session_for", lambda config, profile: account)
    [hazard] = diff.deployed_hazards(load_environment("dev"), stacks(assembly, "dev"), None)
    assert (hazard.stack, hazard.kind, hazard.endpoint, hazard.before, hazard.after) == (
        "dev-Inference",
        "hosting",
        "governed-agents-dev-llm",
        False,
        True,
    )
    account.assert_all_answered()


def test_deployed_hazards_warn_when_the_templates_cannot_be_read(monkeypatch, tmp_path, capsys):
    from kit_config import load_environment
    from release import diff, preflight
    from release.assembly import stacks
    from tests.release.assembly_fixture import write_assembly
    from tests.release.aws_stubs import StubbedAccount, not_found

    account = StubbedAccount()
    not_found(account.stub("cloudformation"), "get_template", "AccessDenied", 403, message="not authorized")
    monkeypatch.setattr(preflight, "session_for", lambda config, profile: account)
    assert (
        diff.deployed_hazards(load_environment("dev"), stacks(write_assembly(tmp_path / "out", "dev"), "dev"), None)
        == []
    )
    assert "could not read dev's deployed templates, update hazards not checked" in capsys.readouterr().err
