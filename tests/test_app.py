"""app.py through the real CDK CLI: environment selection and config errors that write nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kit_config.project import PROJECT_DIR
from tests.helpers import run_app_py

pytestmark = pytest.mark.synth

CDK = PROJECT_DIR / "node_modules" / ".bin" / "cdk"


def cdk_synth(outdir: Path, *args: str, config_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if config_dir:
        env["KIT_CONFIG_DIR"] = str(config_dir)
    return subprocess.run(
        [str(CDK), "synth", "--quiet", "--output", str(outdir), *args, "**"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def broken_config(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(PROJECT_DIR / "config", directory)
    data = yaml.safe_load((directory / "staging.yaml").read_text())
    data["network"]["cidr"] = "10.32.0.0/12"
    (directory / "staging.yaml").write_text(yaml.safe_dump(data))
    return directory


def test_env_context_synthesizes_only_that_environment_importing_only_the_synth_tier(tmp_path):
    """`-c env=dev` through the CLI writes only dev. The app runs under a probe that records what it
    imported: `make synth` installs only requirements.txt, so the app must not need the other tiers."""
    imports = tmp_path / "imported.json"
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, runpy, sys\n"
        "try:\n"
        f"    runpy.run_path({str(PROJECT_DIR / 'app.py')!r}, run_name='__main__')\n"
        "finally:\n"
        f"    open({str(imports)!r}, 'w').write(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))\n"
    )
    outdir = tmp_path / "cdk.out"
    result = cdk_synth(outdir, "--app", f"{sys.executable} {probe}", "-c", "env=dev")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in outdir.glob("assembly-*")) == ["assembly-dev"]
    assert sorted(p.name for p in (outdir / "compliance").iterdir()) == ["dev-compliance.csv", "dev-compliance.md"]
    assert "compliance dev: PASS" in result.stderr
    imported = set(json.loads(imports.read_text()))
    assert "aws_cdk" in imported and "cdk_nag" in imported  # the probe saw the synth
    # (rich and boto3 are also the synth tier's: the sagemaker SDK depends on them)
    other_tiers = {"strands", "mlflow", "starlette", "uvicorn", "mangum", "jwt", "llama_cpp", "matplotlib"}
    assert imported & other_tiers == set()


def test_config_error_stops_the_cli_before_anything_is_written(tmp_path, broken_config):
    outdir = tmp_path / "cdk.out"
    result = cdk_synth(outdir, config_dir=broken_config)
    assert result.returncode != 0
    assert "staging.yaml: network.cidr: a VPC CIDR must be /16 to /24" in result.stderr
    assert not outdir.exists() or not any(outdir.iterdir())


def test_config_error_in_app_py_leaves_no_output_directory(tmp_path, broken_config):
    outdir = tmp_path / "never-created"
    result = run_app_py(broken_config, outdir)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "staging.yaml: network.cidr" in result.stderr
    assert not outdir.exists()


def test_unknown_environment_is_a_clear_error(tmp_path):
    result = cdk_synth(tmp_path / "cdk.out", "-c", "env=qa")
    assert result.returncode != 0
    assert "unknown environment 'qa'" in result.stderr and "known environments: dev, staging, prod" in result.stderr
