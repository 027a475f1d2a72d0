"""The MLflow server releases the kit runs locally: one per config SageMaker accepts and the kit keeps,
each installed by the Makefile into its own virtualenv at its pinned version.

(Tracing, lineage and registration against a real server of each release:
tests/agent_runtime/test_lineage.py and tests/release/test_register_agent.py.)
"""

from __future__ import annotations

import re
import subprocess

import pytest

from kit_config.project import PROJECT_DIR
from kit_config.schema import (
    MLFLOW_TRACKING_SERVER_VERSIONS,
    MLFLOW_VERSIONS_THE_KIT_REFUSES,
    MlflowAppConfig,
    MlflowTrackingServerConfig,
)
from local_runtime import mlflow_server
from local_runtime.mlflow_server import SERVER_RELEASES, ServerNotInstalled, ServerRelease, release_for


def tracking_server(version: str) -> MlflowTrackingServerConfig:
    return MlflowTrackingServerConfig(
        kind="tracking_server", size="Small", mlflow_version=version, weekly_maintenance_window_start="Tue:03:30"
    )


def test_every_version_the_config_accepts_has_a_server_release():
    accepted = [v for v in MLFLOW_TRACKING_SERVER_VERSIONS if v not in MLFLOW_VERSIONS_THE_KIT_REFUSES]
    assert accepted == ["3.0"]
    assert {version: release_for(tracking_server(version)).version for version in accepted} == {"3.0": "3.0.1"}
    app = MlflowAppConfig(kind="app", weekly_maintenance_window_start="Tue:03:30")
    assert release_for(app).version == "3.10.1"  # what serverless MLflow Apps run
    assert {release_for(tracking_server(v)) for v in accepted} | {release_for(app)} == set(SERVER_RELEASES)


def test_the_makefile_installs_every_release_and_nothing_else():
    makefile = (PROJECT_DIR / "Makefile").read_text()
    [listed] = re.findall(r"^MLFLOW_SERVER_RELEASES := (.+)$", makefile, re.MULTILINE)
    assert listed.split() == [release.name for release in SERVER_RELEASES]
    # Installed by `make test` (install) and `make local`, never by `make synth`.
    assert re.search(r"^FULL_TOOLCHAIN := .*\$\(MLFLOW_SERVERS\)", makefile, re.MULTILINE)
    assert re.search(r"^local: .*\$\(MLFLOW_SERVERS\)", makefile, re.MULTILINE)
    assert "MLFLOW_SERVERS" not in re.search(r"^SYNTH_TOOLCHAIN := (.+)$", makefile, re.MULTILINE)[1]
    assert "MLFLOW_SERVERS" not in re.search(r"^synth: (.+)$", makefile, re.MULTILINE)[1]


@pytest.mark.parametrize("release", SERVER_RELEASES, ids=lambda release: release.name)
def test_each_release_is_pinned_and_its_virtualenv_runs_that_version(release):
    pins = dict(re.findall(r"^([a-z-]+)==(\S+)", release.requirements.read_text(), re.MULTILINE))
    assert pins["mlflow"] == release.version
    installed = subprocess.run(
        [str(release.python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.stdout.strip() == release.version, installed.stderr


def test_mlflow_3_0_runs_with_sqlalchemy_below_2_1():
    # mlflow 3.0.1's server imports sqlalchemy.pool.FallbackAsyncAdaptedQueuePool, removed in SQLAlchemy 2.1.
    pins = dict(re.findall(r"^([a-z-]+)==(\S+)", mlflow_server.RELEASE_3_0.requirements.read_text(), re.MULTILINE))
    assert pins["sqlalchemy"].startswith("2.0.")


def test_a_release_whose_virtualenv_is_missing_is_refused_with_the_make_target(tmp_path):
    missing = ServerRelease("9.9", "9.9.9")
    with pytest.raises(ServerNotInstalled, match=r"make install-mlflow-servers.*requirements-mlflow-server-9\.9\.txt"):
        mlflow_server.command(data_dir=tmp_path, release=missing)


def test_each_release_keeps_its_own_store(tmp_path):
    # A newer server migrates a SQLite store forward; an older one then refuses to open it.
    stores = {
        mlflow_server.command(data_dir=tmp_path, release=release)[-3].removeprefix("sqlite:///")
        for release in SERVER_RELEASES
    }
    assert len(stores) == len(SERVER_RELEASES)
    assert all(store.startswith(str(tmp_path)) for store in stores)


def test_the_server_runs_from_the_releases_virtualenv_not_the_clients(tmp_path):
    command = mlflow_server.command(data_dir=tmp_path, release=mlflow_server.RELEASE_3_0)
    assert command[0] == str(PROJECT_DIR / ".venv-mlflow-3.0" / "bin" / "python")
    assert command[1:4] == ["-m", "mlflow", "server"]


def test_the_local_stack_refuses_to_start_without_the_envs_server(monkeypatch):
    from kit_config.loader import load_environment
    from local_runtime.__main__ import StartRefused, mlflow_server_release

    staging = load_environment("staging")
    assert mlflow_server_release(staging) == mlflow_server.RELEASE_3_0  # staging's tracking server runs "3.0"
    monkeypatch.setitem(mlflow_server.TRACKING_SERVER_RELEASES, "3.0", ServerRelease("9.9", "9.9.9"))
    with pytest.raises(StartRefused, match=r"'staging' runs MLflow 9\.9\.9 on SageMaker.*make install-mlflow-servers"):
        mlflow_server_release(staging)


def test_the_server_does_not_take_a_clients_mlflow_settings_as_its_own(monkeypatch):
    """`mlflow.set_experiment` exports MLFLOW_EXPERIMENT_ID for subprocesses; a server started from such a
    process must not inherit it (a 3.0.1 server then refused `make eval`'s metrics: the id was not its own)."""
    import sys

    from local_runtime import processes

    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "2")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1")
    probe = (
        f"import os, sys; inherited = set(os.environ) & {set(mlflow_server.CLIENT_VARIABLES)!r}; "
        "sys.exit(3 if inherited or os.environ['MLFLOW_SERVER_ENABLE_JOB_EXECUTION'] != 'false' else 0)"
    )
    child = processes.start(
        "environment probe", [sys.executable, "-c", probe], "", env=mlflow_server.SERVER_ENV, quiet=True
    )
    assert child.process.wait(60) == 0
