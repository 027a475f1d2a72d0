"""The deployment record in MLflow: a real MLflow store, and best effort when MLflow is down."""

from __future__ import annotations

from kit_config.project import PROJECT_DIR
from release.record_deployment import tracking_uri_from_outputs
from tests.release.conftest import PYTHON, clean_environment, run

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_tracking_uri_from_cdk_outputs():
    arn = "arn:aws:sagemaker:us-east-1:111111111111:mlflow-app/app-abc"
    outputs = {"dev-Foundation": {"X": "y"}, "dev-Mlflow": {"TrackingUri": arn, "ArtifactBucketName": "b"}}
    assert tracking_uri_from_outputs(outputs, "dev") == arn
    assert tracking_uri_from_outputs({}, "dev") is None


def test_records_a_run_tagged_with_the_commit(tmp_path, empty_home):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = clean_environment(empty_home, MLFLOW_TRACKING_URI=uri)
    result = run(
        [
            PYTHON,
            "-m",
            "release.record_deployment",
            "--env",
            "dev",
            "--commit",
            COMMIT,
            "--stack",
            "dev-Agent",
            "--stack",
            "dev-Inference",
        ],
        PROJECT_DIR,
        env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    check = run(
        [
            PYTHON,
            "-c",
            (
                "import mlflow, sys; c = mlflow.MlflowClient(sys.argv[1]);"
                "e = c.get_experiment_by_name('infrastructure-deployments');"
                "r = c.search_runs([e.experiment_id], \"tags.`mlflow.source.git.commit` = '" + COMMIT + "'\")[0];"
                "print(r.info.run_name, r.info.status, r.data.tags['kit.environment'], r.data.tags['kit.stacks'])"
            ),
            uri,
        ],
        PROJECT_DIR,
        env,
        timeout=300,
    )
    assert check.stdout.split() == ["dev-01234567", "FINISHED", "dev", "dev-Agent,dev-Inference"], check.stderr[-2000:]


def test_mlflow_unavailable_is_a_warning_not_a_crash(empty_home):
    env = clean_environment(empty_home, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="2")
    result = run(
        [
            PYTHON,
            "-m",
            "release.record_deployment",
            "--env",
            "dev",
            "--commit",
            COMMIT,
            "--tracking-uri",
            "http://127.0.0.1:9",
        ],
        PROJECT_DIR,
        env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "warning: could not record the deployment in MLflow (http://127.0.0.1:9)" in result.stderr
    assert "Traceback" not in result.stderr
