"""One MLflow parent run per comparison, one child run per setting.

The parent (experiment `compare-<env>`) carries what was compared and the verdict: the best
setting (tag `compare.best`, its figures as metrics), the plot and the table's data as artifacts.
Each child carries its setting's full runtime context as params (instance type, image, LMI
options, model, AMI, pin, price), every figure as metrics, and the id of the setting's own
evaluation run (`mlflow.genai.evaluate`, in the agent version's experiment) to follow a score to
its cases and traces.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from compare.measure import SettingRun
from loadtest.tracking import TrackingUnavailable, _reachable

__all__ = ["TrackingUnavailable", "log_comparison"]


def _params(values: dict) -> dict[str, str]:
    # MLflow params are strings of at most 6000 characters; None or "" means "not applicable".
    return {name: str(value)[:6000] for name, value in values.items() if value not in (None, "")}


def log_comparison(
    tracking_uri: str,
    experiment: str,
    run_name: str,
    params: dict,
    runs: Sequence[SettingRun],
    front: set[str],
    best: SettingRun | None,
    artifacts: list[Path],
    folder: Path,
) -> tuple[str, dict[str, str]]:
    """Log the parent and its children; return (parent run id, {setting: child run id})."""
    _reachable(tracking_uri)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    import mlflow
    from mlflow.exceptions import MlflowException

    children: dict[str, str] = {}
    try:
        mlflow.set_tracking_uri(tracking_uri)
        experiment_id = mlflow.set_experiment(experiment).experiment_id
        tags = {"kit.tool": "compare", "compare.best": best.setting.name if best else "none"}
        with mlflow.start_run(run_name=run_name, experiment_id=experiment_id, tags=tags) as parent:
            mlflow.log_params(_params({**params, "settings": ",".join(r.setting.name for r in runs)}))
            for run in runs:
                child_tags = {
                    "kit.tool": "compare",
                    "compare.setting": run.setting.name,
                    "compare.pareto_front": str(run.setting.name in front).lower(),
                    "compare.best": str(best is not None and run is best).lower(),
                    "compare.eval_run_id": run.eval_run_id,
                }
                with mlflow.start_run(
                    run_name=f"{run_name}-{run.setting.name}", experiment_id=experiment_id, nested=True, tags=child_tags
                ) as child:
                    mlflow.log_params(
                        _params(
                            {
                                **run.setting.params(),
                                **{f"load.{name}": value for name, value in run.load_params.items()},
                                "eval_run_id": run.eval_run_id,
                                "eval_experiment_id": run.eval_experiment_id,
                                "agent_version": run.agent_version,
                            }
                        )
                    )
                    mlflow.log_metrics(run.figures.metrics())
                    requests = folder / f"requests-{run.setting.name}.json"
                    requests.write_text(json.dumps([r.row() for r in run.load_results], indent=1), encoding="utf-8")
                    mlflow.log_artifact(str(requests))
                    children[run.setting.name] = child.info.run_id
            summary = {"settings": len(runs), "pareto_front_size": len(front)}
            if best is not None:
                summary |= {
                    "best_cost_per_success_usd": best.figures.cost_per_success_usd,
                    "best_pass_rate": best.figures.pass_rate,
                }
            mlflow.log_metrics({name: float(value) for name, value in summary.items()})
            for path in artifacts:
                mlflow.log_artifact(str(path))
            return parent.info.run_id, children
    except (MlflowException, OSError) as error:
        raise TrackingUnavailable(f"MLflow at {tracking_uri} did not take the comparison ({error})") from None
