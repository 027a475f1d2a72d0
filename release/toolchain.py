"""This checkout's toolchain (the .venv's Python, the CDK CLI and Node 22 in node_modules) and git."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from kit_config.project import PROJECT_DIR

TOOLCHAIN_DIR = PROJECT_DIR
NODE_BIN = TOOLCHAIN_DIR / "node_modules" / ".bin"
CDK = NODE_BIN / "cdk"
# Variables that would make a synth read another config or write elsewhere than asked.
_SYNTH_OVERRIDES = ("CDK_OUTDIR", "CDK_CONTEXT_JSON")


def python() -> str:
    venv = TOOLCHAIN_DIR / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def cli_environment(extra: Mapping[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """os.environ with Node 22 first on PATH, no colours, and IMDS lookups off."""
    env = {key: value for key, value in os.environ.items() if key not in (*_SYNTH_OVERRIDES, *drop)}
    env["PATH"] = os.pathsep.join([str(NODE_BIN), str(Path(python()).parent), env.get("PATH", "")])
    env.setdefault("FORCE_COLOR", "0")
    env.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
    env.update(extra or {})
    return env


def synth_command(outdir: Path, environments: list[str], context: Mapping[str, str] | None = None) -> list[str]:
    """`cdk synth` of the given environments into `outdir`, with this checkout's Python as the app."""
    command = [str(CDK), "synth", "--quiet", "--app", f"{python()} app.py", "--output", str(outdir)]
    if environments:
        command += ["-c", f"env={','.join(environments)}"]
    for key, value in (context or {}).items():
        command += ["-c", f"{key}={value}"]
    return [*command, "**"]


def git(project_dir: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def head_commit(project_dir: Path) -> str:
    return git(project_dir, "rev-parse", "HEAD")


def dirty_paths(project_dir: Path) -> list[str]:
    """Modified, staged or untracked (not ignored) paths; empty for a clean working tree."""
    result = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal"],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


def config_dir(project_dir: Path) -> Path:
    """The config directory of the checkout being reviewed or deployed (KIT_CONFIG_DIR wins, as in app.py)."""
    override = os.environ.get("KIT_CONFIG_DIR")
    return Path(override) if override else project_dir / "config"
