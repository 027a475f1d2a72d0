"""`make loadtest PROFILE=smoke` exactly as a user runs it: the real small model, a local stack the
CLI starts and stops, a real MLflow server; then the run is read back from MLflow's own store.
(`--stack own` and the two folders keep it off a developer's running `make local` and data.)
"""

from __future__ import annotations

import os
import re
import subprocess

import mlflow
import pytest

from kit_config.loader import load_environment
from kit_config.project import PROJECT_DIR
from local_runtime import mlflow_server

pytestmark = pytest.mark.real_model


def test_make_loadtest_smoke_prints_percentiles_and_cost_and_logs_an_mlflow_run(tmp_path):
    mlflow_dir, output_dir = tmp_path / "mlflow", tmp_path / "out"
    result = subprocess.run(
        [
            "make",
            "-s",
            "loadtest",
            "PROFILE=smoke",
            f"LOADTEST_ARGS=--stack own --mlflow-dir {mlflow_dir} --output-dir {output_dir}",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"figure\s+┃\s+p50\s+┃\s+p95\s+┃\s+p99", out), out[-3000:]
    assert re.search(r"end-to-end latency\s+│\s+[\d,]+ ms\s+│\s+[\d,]+ ms\s+│\s+[\d,]+ ms", out)
    cost = re.search(r"cost per request\s+│\s+\$(\d+\.\d+)", out)
    assert cost and float(cost.group(1)) > 0

    run_id = re.search(r"loadtest run_id=(\w+) experiment=loadtest-dev requests=(\d+) ok=(\d+)", out)
    assert run_id and int(run_id.group(3)) == int(run_id.group(2)) > 0
    # The stack (and its MLflow server) is gone: read the run from the server's SQLite store.
    store = mlflow_server.store_dir(mlflow_dir, mlflow_server.release_for(load_environment("dev").mlflow))
    run = mlflow.MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}").get_run(run_id.group(1))
    assert run.info.status == "FINISHED"
    assert run.data.params["profile"] == "smoke" and run.data.params["instance_type"] == "ml.g6.xlarge"
    p50, p95, p99 = (run.data.metrics[f"e2e_{p}_s"] for p in ("p50", "p95", "p99"))
    assert 0 < p50 <= p95 <= p99
    assert run.data.metrics["ttft_p50_s"] < p50 and run.data.metrics["output_tokens"] > 0
    assert abs(run.data.metrics["cost_per_request_usd"] - float(cost.group(1))) < 1e-6  # the printed figure, rounded
    assert list(store.glob(f"artifacts/**/{run_id.group(1)}/artifacts/latency.png"))
