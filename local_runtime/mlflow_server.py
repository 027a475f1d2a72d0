"""A real local MLflow tracking server: `mlflow server` with a SQLite store and a local artifact dir.

Data stays under `.local/mlflow/` (git-ignored) so experiments and traces survive restarts.
Point clients at it with MLFLOW_TRACKING_URI=http://127.0.0.1:5000.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_PORT = 5000
DEFAULT_DIR = Path(".local/mlflow")
# Start the server with this environment. It turns off MLflow's background job runner (huey
# consumers for server-side scheduled jobs): the kit schedules none, and the runner is five more
# processes per server, each importing MLflow and polling — CPU every local stack and test pays.
SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def command(host: str = "127.0.0.1", port: int = DEFAULT_PORT, data_dir: Path = DEFAULT_DIR) -> list[str]:
    data_dir = Path(data_dir).resolve()
    (data_dir / "artifacts").mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
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


def health_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/health"
