"""`python -m loadtest` end to end against a real local stack: the emulator over real boto3, the agent
over real HTTP, the real MLflow server. The model is the scripted TEST DOUBLE (deterministic and
fast on a busy machine); its `throttle` scenario injects the fault. One stack for the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit_config.project import PROJECT_DIR
from local_runtime.launcher import LocalStack
from local_runtime.processes import free_port

pytestmark = pytest.mark.local_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("loadtest-stack")
    with LocalStack(scratch, model="scripted", agent_settings={"AGENT_MAX_ATTEMPTS": "1"}) as running:
        yield running


def loadtest(
    tmp_path: Path, *args: str, timeout: float = 240, env: dict | None = None
) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """Run the CLI; return its result, summary.json and the run's output folder."""
    output = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "120", "AWS_EC2_METADATA_DISABLED": "true", **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "loadtest", "--output-dir", str(output), *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    runs = sorted(output.glob("*/summary.json"))
    summary = json.loads(runs[-1].read_text()) if runs else {}
    return result, summary, (runs[-1].parent if runs else output)


def test_smoke_against_the_endpoint_measures_costs_and_logs_an_mlflow_run(stack, tmp_path):
    result, summary, folder = loadtest(
        tmp_path, "--profile", "smoke", "--runtime-url", stack.runtime_url, "--tracking-uri", stack.mlflow_url
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = summary["metrics"]
    assert metrics["requests"] == 12 and metrics["succeeded"] == 12 and metrics["error_rate"] == 0
    for figure in ("ttft", "e2e", "inter_token_latency"):
        assert metrics[f"{figure}_p50_s"] <= metrics[f"{figure}_p95_s"] <= metrics[f"{figure}_p99_s"]
    assert 0 < metrics["ttft_p50_s"] < metrics["e2e_p50_s"]
    assert metrics["output_tokens"] > 0 and metrics["output_token_throughput_per_s"] > 0
    assert metrics["cost_per_request_usd"] > 0 and metrics["cost_per_1k_output_tokens_usd"] > 0
    # the scripted model answers "You said: <prompt>", one token a word, within max_tokens
    rows = json.loads((folder / "requests.json").read_text())
    assert all(row["output_tokens"] == len(row["chunk_times_s"]) <= 48 for row in rows)
    assert "time to first token" in result.stdout and "cost per request" in result.stdout

    import mlflow

    client = mlflow.MlflowClient(stack.mlflow_url)
    run_id = result.stdout.split("loadtest run_id=")[1].split()[0]
    run = client.get_run(run_id)
    assert run.data.params["profile"] == "smoke" and run.data.params["target"] == "endpoint"
    assert run.data.params["instance_type"] == "ml.g6.xlarge" and run.data.params["max_tokens"] == "48"
    assert run.data.params["concurrency"] == "2" and run.data.params["scaling_target"] == "4"
    assert run.data.metrics["e2e_p95_s"] == pytest.approx(metrics["e2e_p95_s"])
    assert run.data.metrics["cost_per_request_usd"] == pytest.approx(metrics["cost_per_request_usd"])
    assert client.get_experiment(run.info.experiment_id).name == "loadtest-dev"
    artifacts = {item.path for item in client.list_artifacts(run_id)}
    assert {"latency.png", "requests.csv", "requests.json", "summary.json"} <= artifacts
    assert (folder / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_payload_parts_cut_mid_event_are_measured_like_whole_ones(stack, tmp_path):
    # split=1: the container sends every JSON line in two chunks, so PayloadParts split JSON.
    result, summary, _ = loadtest(
        tmp_path,
        "--profile",
        "smoke",
        "--requests",
        "4",
        "--runtime-url",
        stack.runtime_url,
        "--custom-attributes",
        "split=1",
        "--no-mlflow",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary["metrics"]["succeeded"] == 4 and summary["metrics"]["output_tokens"] > 0


def test_injected_throttles_count_as_throttles_not_successes(stack, tmp_path):
    result, summary, _ = loadtest(
        tmp_path,
        "--profile",
        "smoke",
        "--requests",
        "6",
        "--runtime-url",
        stack.runtime_url,
        "--custom-attributes",
        "scenario=throttle",
        "--no-mlflow",
    )
    metrics = summary["metrics"]
    assert (metrics["requests"], metrics["throttled"], metrics["succeeded"], metrics["errors"]) == (6, 6, 0, 0)
    assert metrics["throttle_rate"] == 1.0 and "cost_per_request_usd" not in metrics
    assert result.returncode == 1 and "no request succeeded" in result.stderr


def test_agent_target_streams_tokens_and_counts_its_429_as_throttles(stack, tmp_path):
    token = {"AGENT_TOKEN": stack.identity().token("load-tester")}  # a given stack: the caller brings a token
    result, summary, folder = loadtest(
        tmp_path,
        "--profile",
        "smoke",
        "--target",
        "agent",
        "--requests",
        "6",
        "--agent-url",
        stack.agent_url,
        "--no-mlflow",
        env=token,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    metrics = summary["metrics"]
    assert metrics["succeeded"] == 6 and metrics["output_tokens"] > 0 and metrics["ttft_p50_s"] < metrics["e2e_p50_s"]
    rows = json.loads((folder / "requests.json").read_text())
    assert all(row["model_calls"] >= 1 for row in rows)
    # later turns of a conversation reuse the session, as a customer's follow-up would
    assert any(row["turn"] == 1 for row in rows) and len({row["session_id"] for row in rows}) < len(rows)

    prompts = tmp_path / "throttled.yaml"  # the scripted model reads [scenario:NAME] from the prompt
    prompts.write_text("name: throttled\nconversations:\n  - id: t\n    turns: ['Help [scenario:throttle]']\n")
    result, summary, _ = loadtest(
        tmp_path,
        "--profile",
        "smoke",
        "--target",
        "agent",
        "--requests",
        "3",
        "--agent-url",
        stack.agent_url,
        "--prompts",
        str(prompts),
        "--no-mlflow",
        env=token,
    )
    assert (summary["metrics"]["throttled"], summary["metrics"]["errors"]) == (3, 0) and result.returncode == 1


def test_unreachable_mlflow_still_prints_the_figures_and_exits_3(stack, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    result, summary, _ = loadtest(
        tmp_path, "--profile", "smoke", "--requests", "2", "--runtime-url", stack.runtime_url, "--tracking-uri", dead
    )
    assert result.returncode == 3
    assert "end-to-end latency" in result.stdout and summary["metrics"]["succeeded"] == 2
    assert "NOT logged" in result.stderr and "Traceback" not in result.stderr


def test_make_loadtest_starts_and_stops_its_own_stack(tmp_path):
    # Without MLflow (the slowest child to start); TMPDIR puts the stack's scratch folder, which is
    # on every child's command line, under tmp_path, so leftovers can be looked for afterwards.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result, summary, _ = loadtest(
        tmp_path,
        "--profile",
        "smoke",
        "--requests",
        "4",
        "--stack",
        "own",
        "--model",
        "scripted",
        "--no-mlflow",
        timeout=400,
        env={"TMPDIR": str(scratch)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "starting a local stack (scripted model)" in result.stdout and summary["metrics"]["succeeded"] == 4
    assert "MLflow: not logged (--no-mlflow)" in result.stdout
    still_running = [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline_mentions(pid, str(scratch))]
    assert still_running == []


def _cmdline_mentions(pid: str, text: str) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def test_ramp_stages_run_in_order_within_their_time(stack, tmp_path):
    # fixed_latency: each answer takes 200 ms, so the time limit, not the cap, ends each stage
    result, summary, folder = loadtest(
        tmp_path,
        "--profile",
        "ramp",
        "--stages",
        "1:2,3:2",
        "--requests",
        "500",
        "--runtime-url",
        stack.runtime_url,
        "--no-mlflow",
        "--custom-attributes",
        "scenario=fixed_latency;latency_ms=200",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads((folder / "requests.json").read_text())
    first, second = [r for r in rows if r["stage"] == 0], [r for r in rows if r["stage"] == 1]
    assert {r["concurrency"] for r in first} == {1} and {r["worker"] for r in first} == {0}
    assert {r["concurrency"] for r in second} == {3} and {r["worker"] for r in second} == {0, 1, 2}
    assert max(r["started_s"] for r in first) < min(r["started_s"] for r in second)
    assert len(second) > len(first) and len(rows) < 500
    # requests start only within their stage: 2 s + 2 s, plus the last ones in flight
    assert summary["metrics"]["wall_s"] < 4 + 3
