"""A real local MLflow tracking server at the version SageMaker runs for the environment.

`mlflow server` with a SQLite store and a local artifact dir; data stays under `.local/mlflow/`
(git-ignored) so experiments and traces survive restarts. Point clients at it with
MLFLOW_TRACKING_URI=http://127.0.0.1:5000.

The *server* runs from its own virtualenv at the release SageMaker runs for the environment's
`mlflow` config (SERVER_RELEASES below); the agent and the tools keep their pinned 3.17 client.
A test against a server at the client's own version hid a real bug: a 3.0 server stores traces
under ids it issues itself (agent_runtime/trace_ids.py). The Makefile installs each release's
virtualenv from requirements-mlflow-server-<name>.txt (`make test`, `make local`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit_config.project import PROJECT_DIR

DEFAULT_PORT = 5000
DEFAULT_DIR = Path(".local/mlflow")
# Start the server with this environment. It turns off MLflow's background job runner (huey
# consumers for server-side scheduled jobs): the kit schedules none, and the runner is five more
# processes per server, each importing MLflow and polling — CPU every local stack and test pays.
# It also leaves out a client's MLflow settings, which a server would take as its own: `mlflow.set_experiment`
# exports MLFLOW_EXPERIMENT_ID for subprocesses (mlflow/tracking/fluent.py), and a 3.0.1 server started from
# such a process resolves that id in its log-batch handler and refuses the request when the id is not one of
# its own ("The provided MLFLOW_EXPERIMENT_ID environment variable value `2` does not exist": `make eval`
# failed so in CI after another test in the same worker had set an experiment).
CLIENT_VARIABLES = (
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_ACTIVE_MODEL_ID",
)
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **dict.fromkeys(CLIENT_VARIABLES)}


@dataclass(frozen=True)
class ServerRelease:
    """One MLflow server release the kit runs locally, from its own virtualenv."""

    name: str  # the virtualenv's and requirements file's suffix: .venv-mlflow-<name>
    version: str  # the `mlflow==` pin in requirements-mlflow-server-<name>.txt

    @property
    def venv(self) -> Path:
        return PROJECT_DIR / f".venv-mlflow-{self.name}"

    @property
    def requirements(self) -> Path:
        return PROJECT_DIR / f"requirements-mlflow-server-{self.name}.txt"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def installed(self) -> bool:
        return self.python.exists()


# SageMaker tracking servers with MlflowVersion "3.0" run MLflow 3.0.x (SageMaker developer guide,
# "Tracking server versions"; a server cannot be upgraded in place); 3.0.1 is the last 3.0 release
# on PyPI. 2.13.2 and 2.16.2 are not here: kit_config refuses them (no LoggedModel API, and 2.13
# has no trace API at all: kit_config/schema.py MLFLOW_TRACKING_SERVER_VERSIONS).
RELEASE_3_0 = ServerRelease("3.0", "3.0.1")
# Serverless MLflow Apps have no version setting: SageMaker runs 3.10.x (3.10.1 seen July 2026,
# shared/REFERENCE.md "MLflow server versions SageMaker runs"). Re-check when AWS upgrades Apps.
RELEASE_3_10 = ServerRelease("3.10", "3.10.1")
TRACKING_SERVER_RELEASES = {"3.0": RELEASE_3_0}  # config mlflow_version -> release
APP_RELEASE = RELEASE_3_10
SERVER_RELEASES = (RELEASE_3_0, RELEASE_3_10)  # every release the Makefile installs and the tests run


def release_for(mlflow_config) -> ServerRelease:
    """The MLflow server release SageMaker runs for an environment's `mlflow` section."""
    if mlflow_config.kind == "app":
        return APP_RELEASE
    return TRACKING_SERVER_RELEASES[mlflow_config.mlflow_version]


class ServerNotInstalled(RuntimeError):
    """The release's virtualenv is missing: `make install-mlflow-servers` creates it."""


def command(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, data_dir: Path = DEFAULT_DIR, *, release: ServerRelease
) -> list[str]:
    if not release.installed():
        raise ServerNotInstalled(
            f"the MLflow {release.version} server's virtualenv {release.venv} is missing; "
            f"`make install-mlflow-servers` creates it from {release.requirements.name}"
        )
    data_dir = store_dir(data_dir, release)
    (data_dir / "artifacts").mkdir(parents=True, exist_ok=True)
    return [
        str(release.python),
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",  # one process is plenty locally and starts fastest
        "--backend-store-uri",
        f"sqlite:///{data_dir / 'mlflow.db'}",
        "--artifacts-destination",
        str(data_dir / "artifacts"),
    ]


def store_dir(data_dir: Path, release: ServerRelease) -> Path:
    """Where a release keeps its SQLite store and artifacts under `data_dir`. One store per release:
    a newer server migrates a store forward on open, and an older one then refuses it (MLflow's
    alembic migrations run forward only)."""
    return Path(data_dir).resolve() / f"server-{release.version}"


def health_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/health"
