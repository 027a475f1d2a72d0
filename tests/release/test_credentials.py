"""Credential detection from variables and shared files only (no network)."""

from __future__ import annotations

import pytest

from release.credentials import credential_source


@pytest.fixture
def home(tmp_path):
    (tmp_path / ".aws").mkdir()
    return tmp_path


def test_nothing_configured(home):
    assert credential_source(environ={"HOME": str(home)}) is None
    assert credential_source("governed-agents-prod", environ={"HOME": str(home)}) is None


def test_environment_variables(home):
    env = {"HOME": str(home), "AWS_ACCESS_KEY_ID": "AKIA...", "AWS_SECRET_ACCESS_KEY": "x"}
    assert credential_source(environ=env) == "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    # A configured profile that does not exist here falls back to the variables (CI with OIDC).
    assert credential_source("governed-agents-prod", environ=env) == "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    assert credential_source(environ={"HOME": str(home), "AWS_ACCESS_KEY_ID": "AKIA..."}) is None


def test_profiles_from_config_and_credentials_files(home):
    (home / ".aws" / "config").write_text("[profile governed-agents-prod]\nsso_session = corp\n")
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = x\n")
    env = {"HOME": str(home)}
    assert credential_source("governed-agents-prod", environ=env) == "profile governed-agents-prod"
    assert credential_source("governed-agents-dev", environ=env) is None
    assert credential_source(environ=env) == "profile default"
    assert credential_source(environ={**env, "AWS_PROFILE": "missing"}) is None
    assert credential_source(environ={**env, "AWS_PROFILE": "governed-agents-prod"}) == "profile governed-agents-prod"
