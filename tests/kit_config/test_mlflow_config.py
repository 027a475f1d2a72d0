"""The `mlflow` section: both kinds load; every mistake names the file and the field."""

from __future__ import annotations

import pytest

from kit_config import load_environment, load_environments
from kit_config.schema import MlflowAppConfig, MlflowTrackingServerConfig
from tests.kit_config.conftest import assert_rejected, edit


def test_shipped_environments_use_both_kinds():
    kinds = {config.name: config.mlflow.kind for config in load_environments()}
    assert kinds == {"dev": "app", "staging": "tracking_server", "prod": "tracking_server"}


def test_tracking_server_settings_load(config_dir):
    prod = load_environment("prod", config_dir).mlflow
    assert isinstance(prod, MlflowTrackingServerConfig)
    assert (prod.size, prod.mlflow_version, prod.weekly_maintenance_window_start) == ("Medium", "3.0", "Sun:02:00")
    assert prod.automatic_model_registration is True and prod.artifact_prefix == "mlflow"


def test_app_needs_no_size_or_version(config_dir):
    dev = load_environment("dev", config_dir).mlflow
    assert isinstance(dev, MlflowAppConfig) and dev.artifact_retention_days == 90


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
    "size on an app": (lambda d: d["mlflow"].update(size="Small"), "mlflow.size", "unknown key"),
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
