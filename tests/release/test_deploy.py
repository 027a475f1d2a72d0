"""`make deploy` guards, each exercised for real with AWS variables cleared; nothing reaches AWS.

Every run either refuses before `cdk deploy` or uses --dry-run, which stops right before it.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from kit_config import load_environment
from release import deploy
from tests.helpers import STACKS
from tests.release.conftest import PROJECT_DIR, PYTHON, clean_environment, run

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}


def deploy_cli(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "release.deploy", "--project-dir", str(project), *args], PROJECT_DIR, env)


def test_make_deploy_prod_refuses_without_credentials(empty_home):
    result = run(["make", "deploy", "ENV=prod"], PROJECT_DIR, clean_environment(empty_home), timeout=300)
    assert result.returncode != 0
    assert "deploy refused: no AWS credentials are configured: profile 'governed-agents-prod' (deploy.profile)" in result.stderr


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
    (clean_clone / "config" / "dev.yaml").write_text((clean_clone / "config" / "dev.yaml").read_text() + "\n# local edit\n")
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
    stage.write_text(stage.read_text().replace(
        "        # Resource-level tags, so they show",
        "        from aws_cdk import aws_sns\n        aws_sns.Topic(self.foundation, 'Unencrypted')\n        # Resource-level tags, so they show",
    ))
    subprocess.run(["git", "-C", str(clean_clone), "commit", "-qam", "non-compliant topic"], check=True)
    result = deploy_cli(clean_clone, clean_environment(empty_home, **FAKE_KEYS), "--env", "dev")
    assert result.returncode == 1
    assert "deploy refused: synth or the governance gate failed; nothing was deployed" in result.stderr
    assert "Unencrypted" in result.stderr


def test_all_guards_pass_dry_run_records_the_commit(empty_home, clean_clone):
    (empty_home / ".aws" / "config").write_text("[profile governed-agents-dev]\nregion = us-east-1\n")
    result = deploy_cli(clean_clone, clean_environment(empty_home), "--env", "dev", "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    commit = subprocess.run(["git", "-C", str(clean_clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert f"Deploying dev at {commit[:12]} with profile governed-agents-dev" in result.stderr
    assert f"-c deployed_commit={commit}" in result.stderr
    assert "deploy --app" in result.stderr and "dev/*" in result.stderr
    assert "--require-approval broadening" in result.stderr and "--profile governed-agents-dev" in result.stderr
    assert "nothing was sent to AWS" in result.stderr
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
