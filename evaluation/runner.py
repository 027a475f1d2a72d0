"""Run the evaluation set through `mlflow.genai.evaluate`, attached to the agent version under test.

The agent registers each version as an MLflow LoggedModel named by its fingerprint
(agent_runtime/lineage.py); the evaluation run goes into that model's experiment, passes its
`model_id` to `mlflow.genai.evaluate` (MLflow records it as the run's model input and links the
aggregated metrics to the model), and carries the version as a tag and a param, so two versions'
runs sit side by side in one experiment.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

from mlflow.genai.scorers import Scorer

from evaluation import agent_client
from evaluation.eval_set import Case, EvalSet
from evaluation.target import Target

log = logging.getLogger(__name__)
FALLBACK_EXPERIMENT = "agent-evaluation"  # only when the agent version is not registered in MLflow
# Not a case: absorbs the agent's cold start (model client, MLflow set-up) so the first case's
# latency is not charged for it, and makes the agent register its version before we look it up.
WARM_UP_PROMPT = "Hello"
CASES_TABLE = "eval_cases.json"  # the run's per-case artifact (case_table)


@dataclass
class Outcome:
    run_id: str
    experiment_id: str
    agent_version: str
    model_id: str | None
    metrics: dict[str, float]
    rows: list[dict] = field(default_factory=list)  # per case: id, outputs, scorer -> pass/fail
    wall_seconds: float = 0.0

    def pass_rate(self, scorer: str) -> float | None:
        return self.metrics.get(f"{scorer}/mean")


def expectations(eval_set: EvalSet, case: Case) -> dict:
    budgets = eval_set.budgets_for(case)
    alternatives = [[fact] if isinstance(fact, str) else list(fact) for fact in case.expected_facts]
    return {
        "expected_tools": list(case.expected_tools),
        "fact_alternatives": alternatives,
        # The wording MLflow's Correctness judge reads (only with a judge configured).
        "expected_facts": [" or ".join(options) for options in alternatives],
        "latency_budget_ms": budgets.latency_ms,
        "cost_budget_usd": budgets.cost_usd,
    }


def find_logged_model(mlflow, agent_version: str):
    """The agent version's LoggedModel (any experiment of this tracking server), or None."""
    experiments = [e.experiment_id for e in mlflow.search_experiments()]
    if not experiments:
        return None
    found = mlflow.search_logged_models(
        experiment_ids=experiments, filter_string=f"name = '{agent_version}'", max_results=1, output_format="list"
    )
    return found[0] if found else None


def run_evaluation(
    eval_set: EvalSet,
    *,
    cases_digest: str,
    cases_file: str,
    target: Target,
    scorers: list[Scorer],
    limit: int | None = None,
    judge_model: str | None = None,
    concurrency: int = 1,
    request_timeout: float = 180.0,
    echo=print,
) -> Outcome:
    import mlflow

    started = time.perf_counter()
    cases = eval_set.cases[:limit] if limit else list(eval_set.cases)
    mlflow.set_tracking_uri(target.tracking_uri)

    agent = agent_client.health(target.agent_url)
    agent_version = agent["agent_version"]
    warm_up = agent_client.invoke(target.agent_url, WARM_UP_PROMPT, request_timeout, target.headers)
    if warm_up.get("error"):
        echo(
            f"warning: the warm-up request failed ({warm_up['error']}); carrying on: the cases are scored as they come"
        )
    model = find_logged_model(mlflow, agent_version)
    if model is None:
        echo(
            f"warning: agent version {agent_version} is not registered in MLflow at {target.tracking_uri} "
            f"(is the agent tracing there?); the run is tagged with the version but not linked to a LoggedModel"
        )
        experiment_id = mlflow.set_experiment(FALLBACK_EXPERIMENT).experiment_id
    else:
        experiment_id = model.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)

    predictions: dict[str, dict] = {}
    lock = threading.Lock()

    # Traced here, so MLflow need not call the agent once more to check that predict_fn traces.
    @mlflow.trace(name="agent_invoke", span_type="AGENT")
    def predict(prompt: str) -> dict:
        outputs = agent_client.prediction(
            agent_client.invoke(target.agent_url, prompt, request_timeout, target.headers)
        )
        with lock:
            predictions[prompt] = outputs
        return outputs

    data = [
        {
            "inputs": {"prompt": case.prompt},
            "expectations": expectations(eval_set, case),
            "tags": {"eval.case_id": case.id},
        }
        for case in cases
    ]
    run_name = f"eval-{agent_version}-{time.strftime('%Y%m%d-%H%M%S')}"
    overrides = {
        "MLFLOW_GENAI_EVAL_MAX_WORKERS": str(concurrency),  # bounded load on the agent
        "MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION": "true",
    }  # its check is one more agent call
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        with mlflow.start_run(run_name=run_name, experiment_id=experiment_id) as run:
            mlflow.set_tags(
                {
                    "agent.version": agent_version,
                    "agent.env": agent.get("env", ""),
                    "agent.endpoint": agent.get("endpoint", ""),
                    "eval.target": target.origin,
                    "eval.cases_digest": cases_digest,
                }
            )
            mlflow.log_params(
                {
                    "agent_version": agent_version,
                    "model_id": model.model_id if model else "",
                    "cases": len(cases),
                    "cases_file": cases_file,
                    "cases_digest": cases_digest,
                    "judge_model": judge_model or "",
                    "concurrency": concurrency,
                    "scorers": ",".join(s.name for s in scorers),
                }
            )
            result = mlflow.genai.evaluate(
                data=data, scorers=scorers, predict_fn=predict, model_id=model.model_id if model else None
            )
            verdicts = _verdicts(result.result_df, [s.name for s in scorers])
            rows = []
            for case, row in zip(cases, data, strict=True):
                outputs = predictions.get(case.prompt, {})
                scores = verdicts.get(case.prompt) or {}
                if all(value is None for value in scores.values()):
                    # The harness scores a row on its trace, which it reads back from the server: an MLflow
                    # 3.0.x server cannot return it (no V3 trace API), so its result table has no verdicts.
                    scores = score_directly(scorers, row, outputs)
                rows.append({"id": case.id, "outputs": outputs, "scores": scores})
            # Per case, in the run itself: MLflow 3.0.x servers (SageMaker tracking servers, MlflowVersion
            # "3.0") have no assessments API, so the harness's per-trace verdicts are not stored there; this
            # table is, on every server, with the agent's own trace id to follow a case to its lineage.
            mlflow.log_table(case_table(rows), CASES_TABLE)
            wall = time.perf_counter() - started
            mlflow.log_metric("eval_wall_seconds", wall)
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return Outcome(
        run.info.run_id,
        experiment_id,
        agent_version,
        model.model_id if model else None,
        dict(result.metrics),
        rows,
        wall,
    )


def score_directly(scorers: list[Scorer], row: dict, outputs: dict) -> dict[str, object]:
    """Each scorer on the row's inputs, outputs and expectations, as the harness calls it (`Scorer.run`); a scorer
    that fails is None, as in the harness's table."""
    verdicts: dict[str, object] = {}
    for scorer in scorers:
        try:
            feedback = scorer.run(inputs=row["inputs"], outputs=outputs, expectations=row["expectations"])
        except Exception:
            log.warning("scorer %s failed on %r", scorer.name, row["inputs"], exc_info=True)
            feedback = None
        verdicts[scorer.name] = getattr(feedback, "value", feedback)
    return verdicts


def case_table(rows: list[dict]) -> dict[str, list]:
    """The per-case table logged with the run (`CASES_TABLE`): one row per case, one column per scorer."""
    scorers = sorted({name for row in rows for name in row["scores"]})
    columns = ("answer", "agent_trace_id", "agent_version", "tools_used", "latency_ms", "estimated_cost_usd", "error")
    table: dict[str, list] = {"case_id": [row["id"] for row in rows]}
    for column in columns:
        table[column] = [row["outputs"].get(column) for row in rows]
    for name in scorers:
        table[name] = [row["scores"].get(name) for row in rows]
    return table


def _verdicts(result_df, scorer_names: list[str]) -> dict[str, dict[str, object]]:
    """prompt -> {scorer: value} from MLflow's result table (`<scorer>/value` columns)."""
    verdicts: dict[str, dict[str, object]] = {}
    if result_df is None:
        return verdicts
    for record in result_df.to_dict(orient="records"):
        request = record.get("request") or record.get("inputs") or {}
        prompt = request.get("prompt") if isinstance(request, dict) else None
        if prompt is not None:
            verdicts[prompt] = {name: record.get(f"{name}/value") for name in scorer_names}
    return verdicts
