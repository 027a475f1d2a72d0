"""Each load test is one MLflow run: settings as params, figures as metrics, plot and raw data as artifacts.

Runs of one environment share the experiment `loadtest-<env>`, so configurations (instance type,
count, concurrency, max_tokens ...) compare side by side in the MLflow UI.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from pathlib import Path


class TrackingUnavailable(Exception):
    """MLflow could not be reached or refused the run; the caller reports it and exits 3."""


def _reachable(tracking_uri: str, timeout: float = 3.0) -> None:
    """Fail fast on a dead http(s) server instead of MLflow's minutes of retries."""
    if not tracking_uri.startswith(("http://", "https://")):
        return  # an ARN (sagemaker-mlflow) or a file store: MLflow itself checks it
    opener = (
        urllib.request.build_opener(urllib.request.ProxyHandler({}))
        if "127.0.0.1" in tracking_uri or "localhost" in tracking_uri
        else urllib.request.build_opener()
    )
    try:
        with opener.open(f"{tracking_uri.rstrip('/')}/health", timeout=timeout) as response:
            if response.status != 200:
                raise TrackingUnavailable(f"MLflow at {tracking_uri} answered /health with HTTP {response.status}")
    except OSError as error:
        raise TrackingUnavailable(f"MLflow at {tracking_uri} is not reachable ({error})") from None


def log_run(
    tracking_uri: str,
    experiment: str,
    run_name: str,
    params: dict,
    metrics: dict[str, float],
    artifacts: list[Path],
    tags: dict[str, str] | None = None,
) -> str:
    """Log one run; return its id. Raises TrackingUnavailable on any MLflow failure."""
    _reachable(tracking_uri)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    # sagemaker-mlflow's header provider warns on every call to a non-ARN tracking URI.
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name, tags={"kit.tool": "loadtest", **(tags or {})}) as run:
            # MLflow params are strings of at most 6000 characters; None means "not applicable".
            mlflow.log_params({name: str(value)[:6000] for name, value in params.items() if value is not None})
            mlflow.log_metrics({name: float(value) for name, value in metrics.items() if value is not None})
            for path in artifacts:
                mlflow.log_artifact(str(path))
            return run.info.run_id
    except (MlflowException, OSError) as error:
        raise TrackingUnavailable(f"MLflow at {tracking_uri} did not take the run ({error})") from None
