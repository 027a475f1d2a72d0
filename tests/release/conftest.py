"""Helpers for running the release tools as an operator would: no AWS credentials, no network."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kit_config.project import PROJECT_DIR

PYTHON = str(PROJECT_DIR / ".venv" / "bin" / "python")


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """os.environ without any AWS_* or deploy variables, HOME pointing at an empty directory."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_")
        and k not in ("CONFIRM", "KIT_CONFIG_DIR", "KIT_DEPLOY_DRY_RUN", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    env.update({"HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true", **extra})
    return env


def run(
    command: list[str], cwd: Path, env: dict[str, str], timeout: int = 900, stdin=subprocess.DEVNULL
) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=stdin)


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    return home


@pytest.fixture
def clean_clone(tmp_path: Path) -> Path:
    """A clean clone of this repository's HEAD (deploy requires a clean working tree)."""
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_DIR), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "config", "user.email", "test@example.com"], check=True)
    subprocess.run(["git", "-C", str(clone), "config", "user.name", "test"], check=True)
    return clone
