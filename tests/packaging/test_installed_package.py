"""The kit as a library: its wheel, installed on its own (not this checkout's editable install),
serves another team's CDK app (tests/packaging/platform_team_app.py): the kit's constructs synthesize
there and the kit's pack rejects a non-compliant model in that app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit_config.project import PROJECT_DIR

pytestmark = pytest.mark.synth

APP = Path(__file__).with_name("platform_team_app.py")


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The kit's wheel, built from this checkout and installed (without dependencies: the test
    venv has them) into a folder of its own; the team's app imports the kit from there."""
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(build), str(PROJECT_DIR)],
        check=True,
        capture_output=True,
    )
    [wheel] = build.glob("governed_agent_kit-*.whl")
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    return site


def team_app_environment(site: Path, out: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CDK_OUTDIR": str(out),
        # The wheel's folder ahead of site-packages, where this venv's editable install of the kit lives.
        "PYTHONPATH": str(site),
        "PATH": f"{PROJECT_DIR / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
    }


def synth_team_app(site: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    workdir = tmp_path / "team-app"  # outside the kit's checkout: no cdk.json, no config/ of ours
    workdir.mkdir()
    shutil.copy(APP, workdir / "app.py")
    out = workdir / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=workdir,
        env=team_app_environment(site, out),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, out


def test_the_team_app_imports_the_kit_from_the_wheel_not_this_checkout(installed_wheel, tmp_path):
    probe = "import kit_constructs, governance; print('KIT_FROM', kit_constructs.__file__, governance.__file__)"
    env = team_app_environment(installed_wheel, tmp_path / "cdk.out")
    where = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert where.stdout.count(str(installed_wheel)) == 2, where.stdout + where.stderr


def test_the_wheel_holds_the_packages_and_their_data(installed_wheel):
    names = {path.relative_to(installed_wheel).as_posix() for path in installed_wheel.rglob("*") if path.is_file()}
    assert {
        "kit_constructs/mlflow_tracking.py",
        "governance/kit_pack.py",
        "agent_runtime/prompts/support_triage.md",
    } <= names
    assert not any(name.startswith(("tests/", "tools/")) for name in names)
    [dist_info] = installed_wheel.glob("governed_agent_kit-*.dist-info")
    metadata = (dist_info / "METADATA").read_text()
    assert "Requires-Dist: aws-cdk-lib==" in metadata and 'extra == "runtime"' in metadata
    assert "Requires-Dist: mlflow==" not in metadata.split("Provides-Extra")[0]  # synth needs no MLflow
    entry_points = (dist_info / "entry_points.txt").read_text()
    assert "kit-check-config = kit_config.__main__:main" in entry_points


def test_the_kits_constructs_synthesize_in_another_app_and_pass_its_pack(installed_wheel, tmp_path):
    result, out = synth_team_app(installed_wheel, tmp_path, "isolated")
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((out / "ResearchPlatform.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {"AWS::SageMaker::MlflowApp", "AWS::SageMaker::Model", "AWS::S3::Bucket"} <= types


def test_the_kits_pack_rejects_a_non_compliant_model_in_another_app(installed_wheel, tmp_path):
    result, _ = synth_team_app(installed_wheel, tmp_path, "open")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "ValidationFailed" in output
    for finding in ("Kit-SageMakerModelIsolated[NetworkIsolationOff]", "Kit-SageMakerModelIsolated[NoVpcConfig]"):
        assert finding in output
    report = json.loads((tmp_path / "team-app" / "cdk.out" / "validation-report.json").read_text())
    flagged = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    # Only the team's own model: the kit's constructs (MLflow App, buckets, key policy) bring none.
    assert flagged == {
        ("Kit-SageMakerModelIsolated[NetworkIsolationOff]", "ResearchPlatform/Model"),
        ("Kit-SageMakerModelIsolated[NoVpcConfig]", "ResearchPlatform/Model"),
    }


def test_a_missing_feature_flag_is_named_before_anything_is_written(installed_wheel, tmp_path):
    result, out = synth_team_app(installed_wheel, tmp_path, "isolated", "no-flags")
    assert result.returncode != 0
    assert "AccessLogBucket needs the feature flag @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy" in result.stderr
    assert not (out / "ResearchPlatform.template.json").exists()
