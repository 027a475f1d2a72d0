"""`make deploy` guards, each exercised for real with AWS variables cleared; nothing reaches AWS.

Every run either refuses before `cdk deploy` or uses --dry-run, which stops right before it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from kit_config import load_environment
from kit_config.project import PROJECT_DIR
from release import deploy
from tests.helpers import STACKS
from tests.release.conftest import PYTHON, clean_environment, run

pytestmark = pytest.mark.synth

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}


def deploy_cli(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "release.deploy", "--project-dir", str(project), *args], PROJECT_DIR, env)


def test_make_deploy_prod_refuses_without_credentials(empty_home):
    result = run(["make", "deploy", "ENV=prod"], PROJECT_DIR, clean_environment(empty_home), timeout=300)
    assert result.returncode != 0
    assert (
        "deploy refused: no AWS credentials are configured: profile 'governed-agents-prod' (deploy.profile)"
        in result.stderr
    )


def test_make_deploy_needs_exactly_one_environment(empty_home):
    result = run(["make", "deploy"], PROJECT_DIR, clean_environment(empty_home), timeout=300)
    assert result.returncode != 0 and "name exactly one environment" in result.stderr


def test_prod_refuses_without_typed_confirmation_when_not_interactive(empty_home, clean_clone):
    result = deploy_cli(clean_clone, clean_environment(empty_home, **FAKE_KEYS), "--env", "prod")
    assert result.returncode == 1
    assert "deploying prod needs an explicit confirmation" in result.stderr and "CONFIRM=prod" in result.stderr


def test_prod_refuses_a_confirmation_for_another_environment(empty_home, clean_clone):
    result = deploy_cli(clean_clone, clean_environment(empty_home, CONFIRM="staging", **FAKE_KEYS), "--env", "prod")
    assert result.returncode == 1 and "CONFIRM='staging' does not match the environment 'prod'" in result.stderr


def test_typed_confirmation(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("CONFIRM", raising=False)
    deploy._confirm("prod", stdin=Terminal("prod\n"))
    with pytest.raises(deploy.Refused, match="confirmation 'yes' does not match 'prod'"):
        deploy._confirm("prod", stdin=Terminal("yes\n"))


def test_dirty_working_tree_is_refused(empty_home, clean_clone):
    (clean_clone / "config" / "dev.yaml").write_text(
        (clean_clone / "config" / "dev.yaml").read_text() + "\n# local edit\n"
    )
    (clean_clone / "notes.txt").write_text("untracked\n")
    result = deploy_cli(clean_clone, clean_environment(empty_home, **FAKE_KEYS), "--env", "dev")
    assert result.returncode == 1
    assert "the working tree has uncommitted changes" in result.stderr
    assert "config/dev.yaml" in result.stderr and "notes.txt" in result.stderr


def test_configured_profile_missing_and_no_credentials(empty_home, clean_clone):
    result = deploy_cli(clean_clone, clean_environment(empty_home), "--env", "dev")
    assert result.returncode == 1
    assert "profile 'governed-agents-dev' (deploy.profile) is not in ~/.aws/config" in result.stderr


def test_governance_gate_failure_is_refused(empty_home, clean_clone):
    # A committed change that adds an unencrypted SNS topic: the nag packs fail synth.
    stage = clean_clone / "stacks" / "environment_stage.py"
    stage.write_text(
        stage.read_text().replace(
            "        # Resource-level tags, so they show",
            "        from aws_cdk import aws_sns\n        aws_sns.Topic(self.foundation, 'Unencrypted')\n        # Resource-level tags, so they show",
        )
    )
    subprocess.run(["git", "-C", str(clean_clone), "commit", "-qam", "non-compliant topic"], check=True)
    result = deploy_cli(clean_clone, clean_environment(empty_home, **FAKE_KEYS), "--env", "dev")
    assert result.returncode == 1
    assert "deploy refused: synth or the governance gate failed; nothing was deployed" in result.stderr
    assert "Unencrypted" in result.stderr


def test_all_guards_pass_dry_run_records_the_commit(empty_home, clean_clone):
    (empty_home / ".aws" / "config").write_text("[profile governed-agents-dev]\nregion = us-east-1\n")
    result = deploy_cli(clean_clone, clean_environment(empty_home), "--env", "dev", "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    commit = subprocess.run(
        ["git", "-C", str(clean_clone), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert f"Deploying dev at {commit[:12]} with profile governed-agents-dev" in result.stderr
    assert f"-c deployed_commit={commit}" in result.stderr
    assert "deploy --app" in result.stderr and "dev/*" in result.stderr
    assert "--require-approval broadening" in result.stderr and "--profile governed-agents-dev" in result.stderr
    assert "nothing was sent to AWS" in result.stderr
    # The dry run explains the preflight of the gated assembly, before the deploy command.
    explained = result.stderr.index("Preflight for dev (account 111111111111, region us-east-1) checks")
    assert explained < result.stderr.index(f"Deploying dev at {commit[:12]}")
    assert "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:" in result.stderr
    assert "'ml.g6.xlarge for endpoint usage' (service code sagemaker, us-east-1) >= 4" in result.stderr
    # The gated assembly carries the commit as a stack tag on every stack (not in the templates).
    manifest = json.loads((clean_clone / "cdk.out.deploy" / "dev" / "assembly-dev" / "manifest.json").read_text())
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    assert len(stacks) == len(STACKS)
    assert all(a["properties"]["tags"]["DeployedCommit"] == commit for a in stacks)


def test_prod_always_requires_approval_of_broadening_changes(tmp_path):
    config = load_environment("prod")
    assert deploy.needs_confirmation("prod", config)
    assert deploy.require_approval("prod", "never") == "broadening"
    assert deploy.require_approval("prod", "any-change") == "any-change"
    assert deploy.require_approval("dev", "never") == "never"
    command = deploy.deploy_command("prod", tmp_path, config, "governed-agents-prod", tmp_path / "o.json")
    assert command[command.index("--require-approval") + 1] == "broadening"
    assert command[command.index("--profile") + 1] == "governed-agents-prod"


# --- preflight runs after synth and before `cdk deploy`; a refusal stops the deploy ---------------


@pytest.fixture
def deploy_in_process(monkeypatch, tmp_path, empty_home):
    """deploy.run for dev with fake keys, the committed snapshots as the synthesized assembly, a
    stubbed account, and `subprocess.run` recording what would have been executed."""
    import shutil

    from release import preflight
    from tests.release.assembly_fixture import write_assembly
    from tests.release.aws_stubs import StubbedAccount

    for key in [k for k in os.environ if k.startswith("AWS_")] + ["CONFIRM", "KIT_CONFIG_DIR"]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(empty_home))
    for key, value in FAKE_KEYS.items():
        monkeypatch.setenv(key, value)
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "config", project / "config")
    monkeypatch.setattr(deploy, "_require_clean_tree", lambda project_dir: "c0ffee" * 6 + "c0ff")
    monkeypatch.setattr(deploy, "_synth", lambda project_dir, env, commit, outdir: write_assembly(outdir, env))
    account = StubbedAccount()
    monkeypatch.setattr(preflight, "session_for", lambda config, profile: account)
    executed = []

    def recording_run(command, **kwargs):
        account.assert_all_answered()  # every preflight call was made before this command
        executed.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(deploy.subprocess, "run", recording_run)
    monkeypatch.setattr("release.record_deployment.record", lambda **kwargs: executed.append(("record", kwargs)))
    monkeypatch.setattr("release.register_agent.register", lambda **kwargs: executed.append(("register", kwargs)))
    return project, account, executed


def test_a_preflight_refusal_stops_the_deploy_before_cdk_deploy(deploy_in_process):
    from tests.release.aws_stubs import answer

    project, account, executed = deploy_in_process
    answer(account, broken=True)
    with pytest.raises(deploy.Refused) as refusal:
        deploy.run("dev", project, dry_run=False)
    assert executed == []  # `cdk deploy` never ran
    message = str(refusal.value)
    assert message.startswith("preflight found 6 problem(s) in dev's account that would fail the deploy:")
    assert "[quota] quota 'ml.g6.xlarge for endpoint usage'" in message and message.endswith("Nothing was deployed.")


def test_a_passing_preflight_lets_cdk_deploy_run(deploy_in_process):
    from tests.release.aws_stubs import answer

    project, account, executed = deploy_in_process
    answer(account, broken=False)
    assert deploy.run("dev", project, dry_run=False) == 0
    command, *after = executed
    assert command[1:3] == ["deploy", "--app"] and command[3] == str(project / "cdk.out.deploy" / "dev")
    assert [step for step, _ in after] == ["record", "register"]


def test_after_cdk_deploy_the_agent_version_is_registered_in_the_envs_mlflow(deploy_in_process, monkeypatch):
    from tests.release.aws_stubs import answer

    project, account, executed = deploy_in_process
    answer(account, broken=False)
    arn = "arn:aws:sagemaker:us-east-1:111111111111:mlflow-app/app-abc"
    deploy_run = deploy.subprocess.run

    def cdk_deploy_writing_outputs(command, **kwargs):  # what `cdk deploy --outputs-file` leaves behind
        result = deploy_run(command, **kwargs)
        Path(command[command.index("--outputs-file") + 1]).write_text(json.dumps({"dev-Mlflow": {"TrackingUri": arn}}))
        return result

    monkeypatch.setattr(deploy.subprocess, "run", cdk_deploy_writing_outputs)
    assert deploy.run("dev", project, dry_run=False) == 0
    [(_step, kwargs)] = [entry for entry in executed if entry[0] == "register"]
    assert kwargs["tracking_uri"] == arn and kwargs["commit"] == "c0ffee" * 6 + "c0ff"
    assert kwargs["config"].name == "dev" and kwargs["profile"] is None and kwargs["region"] == "us-east-1"
    # After `cdk deploy` (a first deploy creates the MLflow server): the deploy command came first.
    assert executed[0][1:3] == ["deploy", "--app"] and executed.index(("register", kwargs)) > 0


def test_a_failed_cdk_deploy_registers_nothing(deploy_in_process, monkeypatch):
    from tests.release.aws_stubs import answer

    project, account, executed = deploy_in_process
    answer(account, broken=False)
    monkeypatch.setattr(deploy.subprocess, "run", lambda command, **kwargs: subprocess.CompletedProcess(command, 1))
    assert deploy.run("dev", project, dry_run=False) == 1
    assert executed == []
