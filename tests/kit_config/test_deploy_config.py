"""The optional `deploy:` section: profile, CloudFormation role, approval level, confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected, edit


def with_deploy(directory: Path, env: str, deploy) -> None:
    """Replace (or, with None, remove) the env file's `deploy:` section."""

    def change(data: dict) -> None:
        if deploy is None:
            data.pop("deploy", None)
        else:
            data["deploy"] = deploy

    edit(directory, env, change)


def test_shipped_sections():
    assert load_environment("dev").deploy.profile == "governed-agents-dev"
    prod = load_environment("prod").deploy
    assert (prod.profile, prod.require_approval, prod.require_confirmation) == (
        "governed-agents-prod",
        "broadening",
        True,
    )


def test_section_is_optional_with_safe_defaults(config_dir):
    with_deploy(config_dir, "dev", None)
    deploy = load_environment("dev", config_dir).deploy
    assert (deploy.profile, deploy.role_arn, deploy.require_approval, deploy.require_confirmation) == (
        None,
        None,
        "broadening",
        False,
    )


@pytest.mark.parametrize(
    ("deploy", "field", "message"),
    [
        ({"profil": "x"}, "deploy.profil", "unknown key"),
        ({"profile": "has space"}, "deploy.profile", "String should match pattern"),
        ({"role_arn": "cfn-role"}, "deploy.role_arn", "String should match pattern"),
        ({"require_approval": "sometimes"}, "deploy.require_approval", "'never', 'any-change' or 'broadening'"),
        ({"require_confirmation": "yes"}, "deploy.require_confirmation", "valid boolean"),
    ],
)
def test_mistakes_name_file_and_field(config_dir, deploy, field, message):
    with_deploy(config_dir, "prod", deploy)
    assert_rejected(config_dir, "prod", field, message)


def test_role_arn_accepted(config_dir):
    arn = "arn:aws:iam::333333333333:role/cdk-hnb659fds-cfn-exec-role-333333333333-us-west-2"
    with_deploy(config_dir, "prod", {"role_arn": arn})
    assert load_environment("prod", config_dir).deploy.role_arn == arn
