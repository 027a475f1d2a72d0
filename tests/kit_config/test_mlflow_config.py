"""The `mlflow` section: tracking servers load, an MLflow App is refused (the kit's networks cannot
reach one); every mistake names the file and the field."""

from __future__ import annotations

import pytest

from kit_config import load_environment, load_environments
from kit_config.schema import MlflowAppConfig, MlflowTrackingServerConfig
from tests.kit_config.conftest import assert_rejected, edit


def test_shipped_environments_run_tracking_servers():
    kinds = {config.name: (config.mlflow.kind, config.mlflow.mlflow_version) for config in load_environments()}
    assert kinds == {name: ("tracking_server", "3.0") for name in ("dev", "staging", "prod")}


def test_tracking_server_settings_load(config_dir):
    prod = load_environment("prod", config_dir).mlflow
    assert isinstance(prod, MlflowTrackingServerConfig)
    assert (prod.size, prod.mlflow_version, prod.weekly_maintenance_window_start) == ("Medium", "3.0", "Sun:02:00")
    assert prod.automatic_model_registration is True and prod.artifact_prefix == "mlflow"


def test_dev_runs_a_small_tracking_server(config_dir):
    dev = load_environment("dev", config_dir).mlflow
    assert isinstance(dev, MlflowTrackingServerConfig) and (dev.size, dev.artifact_retention_days) == ("Small", 90)


def app(data: dict, **changes) -> None:
    data["mlflow"] = {"kind": "app", "weekly_maintenance_window_start": "Tue:03:30", **changes}


@pytest.mark.parametrize("env", ["dev", "prod"], ids=["created VPC", "existing VPC"])
def test_an_mlflow_app_is_refused_in_the_kits_isolated_network(config_dir, env):
    # sagemaker-mlflow calls an App at mlflow.sagemaker.<region>.app.aws; PrivateLink serves tracking servers only.
    edit(config_dir, env, app)
    assert_rejected(config_dir, env, "mlflow.kind", "an MLflow App cannot be reached from the kit's isolated network")
    assert_rejected(config_dir, env, "mlflow.kind", "mlflow.sagemaker.<region>.app.aws")


def test_the_construct_still_takes_an_app_config():
    # Platform teams' own apps (README, "Using the kit in your own CDK app") build the section in code.
    assert MlflowAppConfig(kind="app", weekly_maintenance_window_start="Sun:02:00").kind == "app"


def server(data: dict, **changes) -> None:
    data["mlflow"] = {
        "kind": "tracking_server",
        "size": "Small",
        "mlflow_version": "3.0",
        "weekly_maintenance_window_start": "Tue:03:30",
        **changes,
    }


BAD_MLFLOW = {
    # id: (change to dev.yaml, field path expected in the message, words expected)
    "missing section": (lambda d: d.pop("mlflow"), "mlflow", "required key is missing"),
    "unknown kind": (lambda d: d["mlflow"].update(kind="serverless"), "mlflow", "'tracking_server', 'app'"),
    "unknown size": (lambda d: server(d, size="XLarge"), "mlflow.size", "'Small', 'Medium' or 'Large'"),
    "size in lower case": (lambda d: server(d, size="small"), "mlflow.size", "'Small', 'Medium' or 'Large'"),
    "unsupported MLflow version": (
        lambda d: server(d, mlflow_version="2.9.0"),
        "mlflow.mlflow_version",
        "not an MLflow version SageMaker tracking servers support",
    ),
    # Offered by SageMaker, refused by the kit: the agent's lineage needs a LoggedModel API (MLflow 3.0+).
    "MLflow 2.16 tracking server": (
        lambda d: server(d, mlflow_version="2.16.2"),
        "mlflow.mlflow_version",
        "'2.16.2' cannot trace this kit's agent: an MLflow 2.16 server has no LoggedModel API",
    ),
    "MLflow 2.13 tracking server": (
        lambda d: server(d, mlflow_version="2.13.2"),
        "mlflow.mlflow_version",
        "neither a trace API (MLflow 2.14+) nor a LoggedModel API (MLflow 3.0+), and the agent registers its "
        "version as a LoggedModel and links every trace to it; use '3.0'",
    ),
    "MLflow version as a number": (lambda d: server(d, mlflow_version=3.0), "mlflow.mlflow_version", "valid string"),
    "window without leading zero": (
        lambda d: d["mlflow"].update(weekly_maintenance_window_start="Tue 3:30"),
        "mlflow.weekly_maintenance_window_start",
        "not a weekly maintenance window",
    ),
    "window with hour 24": (
        lambda d: d["mlflow"].update(weekly_maintenance_window_start="Tue:24:00"),
        "mlflow.weekly_maintenance_window_start",
        "Ddd:HH:MM",
    ),
    "window with a long day name": (
        lambda d: d["mlflow"].update(weekly_maintenance_window_start="Tuesday:03:30"),
        "mlflow.weekly_maintenance_window_start",
        "e.g. Tue:03:30",
    ),
    "missing window": (
        lambda d: d["mlflow"].pop("weekly_maintenance_window_start"),
        "mlflow.weekly_maintenance_window_start",
        "required key is missing",
    ),
    "size on an app": (lambda d: app(d, size="Small"), "mlflow.size", "unknown key"),
    "server without version": (
        lambda d: (server(d), d["mlflow"].pop("mlflow_version")),
        "mlflow.mlflow_version",
        "required key is missing",
    ),
    "registration not a bool": (
        lambda d: d["mlflow"].update(automatic_model_registration="yes"),
        "mlflow.automatic_model_registration",
        "valid boolean",
    ),
    "prefix with leading slash": (
        lambda d: d["mlflow"].update(artifact_prefix="/mlflow"),
        "mlflow.artifact_prefix",
        "not an artifact prefix",
    ),
    "zero retention": (
        lambda d: d["mlflow"].update(artifact_retention_days=0),
        "mlflow.artifact_retention_days",
        "greater than or equal to 1",
    ),
}


@pytest.mark.parametrize("change, field, words", BAD_MLFLOW.values(), ids=BAD_MLFLOW.keys())
def test_bad_mlflow_input_names_file_and_field(config_dir, change, field, words):
    edit(config_dir, "dev", change)
    assert_rejected(config_dir, "dev", field, words)
