"""`python -m compare` end to end against a real local stack: two variants of dev's endpoint, each
its own model server behind the emulator, an agent pinned to each, a real MLflow server. The model
is the scripted TEST DOUBLE (deterministic and fast): it echoes the prompt, so of the two cases
below it passes the first and fails the second on every setting. Asserts what is printed and what
MLflow records, never a figure that depends on the machine's speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import mlflow
import pytest

from kit_config.loader import load_environment
from kit_config.project import PROJECT_DIR
from local_runtime import mlflow_server

pytestmark = pytest.mark.local_stack

CASES = """\
description: two cases the scripted double's echo passes and fails by design
budgets: {latency_ms: 120000, cost_usd: 1.0}
cases:
  - id: echo-passes
    prompt: Please say hello back to me.
    expected_tools: []
    expected_facts: [hello]
  - id: echo-fails
    prompt: Which portal address do I enter in the GlobalProtect client?
    expected_tools: [search_knowledge_base]
    expected_facts: [vpn.corp.example.com]
"""
LAST_LINE = re.compile(r"^compare settings=(\d+) best=(\S+) cost_per_success_usd=([0-9.e+-]+) pass_rate=([0-9.]+)$")


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory):
    from tests.local_runtime.support import start_mlflow

    server = start_mlflow(mlflow_server.release_for(load_environment("dev").mlflow), tmp_path_factory.mktemp("mlflow"))
    yield server.url
    server.child.stop()


@pytest.fixture(scope="module")
def comparison(mlflow_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    cases = folder / "cases.yaml"
    cases.write_text(CASES, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "compare",
            "--model",
            "scripted",
            "--cases",
            str(cases),
            "--requests",
            "4",
            "--tracking-uri",
            mlflow_url,
            "--output-dir",
            str(folder / "out"),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "120", "AWS_EC2_METADATA_DISABLED": "true"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_the_last_line_names_the_best_setting_with_its_figures(comparison):
    line = comparison.stdout.rstrip("\n").splitlines()[-1]
    match = LAST_LINE.match(line)
    assert match, line
    count, chosen, cost, rate = match.groups()
    assert count == "2" and chosen in {"primary", "challenger"}
    assert float(cost) > 0 and float(rate) == 0.5
    assert "$ per successful task" in comparison.stdout and "Pareto front" in comparison.stdout


def test_mlflow_has_a_parent_run_with_a_child_per_setting(comparison, mlflow_url):
    chosen = LAST_LINE.match(comparison.stdout.rstrip("\n").splitlines()[-1]).group(2)
    client = mlflow.MlflowClient(mlflow_url)
    experiment = client.get_experiment_by_name("compare-dev")
    runs = client.search_runs([experiment.experiment_id])
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.data.tags["compare.best"] == chosen and parent.data.params["best"] == chosen
    assert parent.data.params["settings"] == "primary,challenger" and parent.data.params["tasks"] == "2"
    assert parent.data.metrics["best_pass_rate"] == 0.5
    artifacts = {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert {"cost_vs_quality.png", "comparison.json"} <= artifacts
    png = client.download_artifacts(parent.info.run_id, "cost_vs_quality.png")
    with open(png, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"

    children = {
        run.data.tags["compare.setting"]: run
        for run in runs
        if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    }
    assert set(children) == {"primary", "challenger"}
    for name, child in children.items():
        params, metrics = child.data.params, child.data.metrics
        assert params["variant"] == name and params["pin"] in (name, f"governed-agents-dev-llm-{name}")
        assert params["instance_type"] == "ml.g6.xlarge" and params["model"] == "Qwen2.5-7B-Instruct"
        assert params["image"].endswith("-cu130") and params["inference_ami_version"].startswith("al2023-")
        # The runtime context as the construct builds it: the challenger's quarter context included.
        expected_context = {"primary": "8192", "challenger": "2048"}[name]
        assert params["lmi.OPTION_MAX_MODEL_LEN"] == expected_context and params["local_model"] == "scripted"
        assert metrics["tasks"] == 2 and metrics["tasks_passed"] == 1 and metrics["pass_rate"] == 0.5
        assert metrics["facts_present/pass_rate"] == 0.5 and metrics["tool_choice/pass_rate"] == 0.5
        assert metrics["load/requests"] == 4 and metrics["load/succeeded"] == 4
        for figure in ("e2e_p50_s", "e2e_p95_s", "ttft_p50_s", "output_tokens_per_s"):
            assert metrics[figure] > 0, figure
        assert metrics["e2e_p50_s"] <= metrics["e2e_p95_s"]
        assert metrics["cost_per_1k_requests_usd"] == pytest.approx(1000 * metrics["cost_per_request_usd"])
        assert metrics["cost_per_success_usd"] == pytest.approx(
            metrics["eval_requests"] * metrics["cost_per_request_usd"] / metrics["tasks_passed"]
        )
        assert child.data.tags["compare.best"] == str(name == chosen).lower()
        # the setting's own evaluation run (mlflow.genai.evaluate) is linked
        evaluation = client.get_run(params["eval_run_id"])
        assert evaluation.data.metrics["facts_present/mean"] == 0.5
        assert {item.path for item in client.list_artifacts(child.info.run_id)} == {f"requests-{name}.json"}
