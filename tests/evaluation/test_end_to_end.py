"""`python -m evaluation` end to end against a real local stack: the real small model (SmolLM2-135M on
CPU), the real agent over HTTP, a real MLflow server. Asserts what MLflow records, not the scores
(the small model's answers vary; its scores are results, not test outcomes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import mlflow
import pytest
from mlflow.utils.mlflow_tags import MLFLOW_RUN_TYPE, MLFLOW_RUN_TYPE_GENAI_EVALUATE

from kit_config.project import PROJECT_DIR
from local_runtime.launcher import LocalStack

pytestmark = pytest.mark.real_model

SCORERS = ["tool_choice", "facts_present", "latency_within_budget", "cost_within_budget"]
CASES = 3


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    settings = {"AGENT_MAX_TOKENS": "48", "AGENT_REQUEST_TIMEOUT_SECONDS": "150", "AGENT_READ_TIMEOUT_SECONDS": "150"}
    with LocalStack(tmp_path_factory.mktemp("eval-stack"), model="real", agent_settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def evaluation(stack):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "evaluation",
            "--agent-url",
            stack.agent_url,
            "--tracking-uri",
            stack.mlflow_url,
            "--limit",
            str(CASES),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "AGENT_TOKEN": stack.identity().token("evaluator")},
    )  # as with a deployed agent
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_id = re.search(r"^MLflow run\s+([0-9a-f]{32}) ", result.stdout, re.M).group(1)
    mlflow.set_tracking_uri(stack.mlflow_url)
    return result.stdout, mlflow.get_run(run_id)


def agent_version(stack) -> str:
    with urllib.request.urlopen(f"{stack.agent_url}/health", timeout=5) as response:
        return json.loads(response.read())["agent_version"]


def test_the_run_is_an_mlflow_genai_evaluation_tagged_with_the_agent_version(stack, evaluation):
    _, run = evaluation
    version = agent_version(stack)
    assert run.info.status == "FINISHED"
    assert run.data.tags[MLFLOW_RUN_TYPE] == MLFLOW_RUN_TYPE_GENAI_EVALUATE
    assert run.data.tags["agent.version"] == version and run.data.params["agent_version"] == version
    assert run.data.params["cases"] == str(CASES)


def test_the_run_carries_a_pass_rate_per_scorer_and_the_summary_prints_them(evaluation):
    stdout, run = evaluation
    for name in SCORERS:
        rate = run.data.metrics[f"{name}/mean"]
        assert 0.0 <= rate <= 1.0
        assert re.search(rf"^{name}\s+{rate:6.1%}$", stdout, re.M), f"{name} not printed as {rate:.1%}"


def test_the_run_is_linked_to_the_agent_versions_logged_model(stack, evaluation):
    stdout, run = evaluation
    model_ids = [model_input.model_id for model_input in run.inputs.model_inputs]
    assert len(model_ids) == 1
    model = mlflow.get_logged_model(model_ids[0])
    assert model.name == agent_version(stack) and model.experiment_id == run.info.experiment_id
    assert f"LoggedModel     {model.model_id}" in stdout
    # MLflow links the aggregated metrics to the model too: what its Models view compares.
    linked = {metric.key for metric in model.metrics if metric.run_id == run.info.run_id}
    assert {f"{name}/mean" for name in SCORERS} <= linked


def test_every_case_is_in_the_runs_table_with_a_verdict_per_scorer_and_the_agents_stored_trace(stack, evaluation):
    """On every server version: the local stack runs dev's (a 3.0.x tracking server), which has no assessments
    API, so the verdicts live in the run's table, each case with the trace id the agent returned for it."""
    from agent_runtime.trace_ids import read_trace
    from evaluation.runner import CASES_TABLE

    _, run = evaluation
    path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=CASES_TABLE)
    with open(path, encoding="utf-8") as table_file:
        table = json.load(table_file)
    rows = [dict(zip(table["columns"], values, strict=True)) for values in table["data"]]
    assert len(rows) == CASES
    version = agent_version(stack)
    for row in rows:
        assert row["case_id"] and all(row[name] in (True, False) for name in SCORERS), row
        if row["error"]:  # the small model can fail a case: then there is no answer to trace
            continue
        # The id the agent returned is stored; its export (tags, spans) follows the answer asynchronously.
        deadline = time.monotonic() + 60
        while (trace := read_trace(stack.mlflow_url, row["agent_trace_id"])) is not None and "agent.version" not in (
            trace.info.tags
        ):
            assert time.monotonic() < deadline, f"trace {row['agent_trace_id']} was never ended ({trace.info.state})"
            time.sleep(0.5)
        assert trace is not None and trace.info.tags["agent.version"] == version
