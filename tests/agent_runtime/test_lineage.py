"""Every request's trace lands in a real MLflow server, tagged; each agent version is registered once;
the lineage command reconstructs a trace's context; MLflow being down never fails a request."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import mlflow
import pytest

from tests.agent_runtime.conftest import AgentProcess, get, post
from tests.local_runtime.support import PROJECT_DIR


def wait_for_trace(tracking_uri: str, trace_id: str, timeout: float = 20):
    mlflow.set_tracking_uri(tracking_uri)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trace = mlflow.get_trace(trace_id, silent=True)
        if trace is not None and trace.info.tags.get("agent.request_id"):
            return trace
        time.sleep(0.3)
    pytest.fail(f"trace {trace_id} did not reach MLflow within {timeout} s")


def test_each_request_is_traced_with_its_context(agent, mlflow_url):
    assert get(f"{agent.url}/health")[2]["tracing"] == "ready"  # set up in the background, before any request
    status, _, body = post(f"{agent.url}/invoke", {"prompt": "[scenario:tool_call] trace me"},
                           headers={"X-Request-Id": "req-trace-1"}, caller="numbat5150")
    assert status == 200
    trace = wait_for_trace(mlflow_url, body["trace_id"])
    tags = trace.info.tags
    assert tags["agent.version"] == body["agent_version"]
    assert (tags["agent.session_id"], tags["agent.request_id"]) == (body["session_id"], "req-trace-1")
    # The caller as its pseudonym (32 base32 characters), never the token's subject.
    assert len(tags["agent.caller_id"]) == 32 and "numbat5150" not in json.dumps(trace.to_dict())
    assert (tags["agent.endpoint"], tags["agent.env"], tags["agent.variant"]) == ("governed-agents-dev-llm", "dev", "")
    assert (tags["agent.model_calls"], tags["agent.tool_calls"]) == ("2", "1")
    assert trace.info.client_request_id == "req-trace-1"
    span_types = {span.span_type for span in trace.data.spans}  # Strands' spans, via mlflow.strands.autolog()
    assert {"AGENT", "CHAT_MODEL", "TOOL"} <= span_types, span_types


def test_the_agent_version_is_registered_once_with_its_parameters_and_prompt(agent, mlflow_url):
    session = post(f"{agent.url}/invoke", {"prompt": "again"})[2]["session_id"]
    agent.restart()  # a new process must find, not re-create, the version
    status, _, body = post(f"{agent.url}/invoke", {"prompt": "and again", "session_id": session})
    assert status == 200
    mlflow.set_tracking_uri(mlflow_url)
    experiment = mlflow.get_experiment_by_name("governed-agents-dev-agent")
    models = mlflow.search_logged_models(experiment_ids=[experiment.experiment_id],
                                         filter_string=f"name = '{body['agent_version']}'", output_format="list")
    assert len(models) == 1
    params = models[0].params
    assert params["param.max_tokens"] == "512" and params["endpoint.endpoint_name"] == "governed-agents-dev-llm"
    assert params["tools"] == "classify_ticket_priority,current_time,search_knowledge_base"
    artifacts = {a.path for a in mlflow.MlflowClient(mlflow_url).list_logged_model_artifacts(models[0].model_id)}
    assert {"system_prompt.md", "tool_specs.json", "version_material.json"} <= artifacts


def test_lineage_command_prints_the_runtime_context_of_a_trace(agent, mlflow_url):
    status, _, body = post(f"{agent.url}/invoke", {"prompt": "what produced this?"})
    wait_for_trace(mlflow_url, body["trace_id"])
    result = subprocess.run([sys.executable, "-m", "agent_runtime.lineage", body["trace_id"], "--tracking-uri", mlflow_url],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    context = json.loads(result.stdout)
    assert context["tags"]["agent.session_id"] == body["session_id"]
    assert context["caller_id"] == context["tags"]["agent.caller_id"] and len(context["caller_id"]) == 32
    material = context["agent_version"]["material"]
    assert context["agent_version"]["name"] == body["agent_version"]
    assert "support-triage assistant" in material["system_prompt"]
    assert material["parameters"] == {"max_tokens": 512, "temperature": 0.2, "top_p": 0.9}
    assert [tool["name"] for tool in material["tools"]] == ["classify_ticket_priority", "current_time", "search_knowledge_base"]


def test_lineage_command_reports_an_unknown_trace(mlflow_url):
    result = subprocess.run([sys.executable, "-m", "agent_runtime.lineage", "tr-0000", "--tracking-uri", mlflow_url],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no trace tr-0000" in result.stderr


def test_mlflow_down_never_fails_a_request_and_is_counted(agent_env, tmp_path):
    from local_runtime import processes

    down = AgentProcess({**agent_env, "AGENT_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{processes.free_port()}"},
                        tmp_path / "no-mlflow.log").start()
    try:
        status, _, body = post(f"{down.url}/invoke", {"prompt": "still answer"}, timeout=120)
        assert status == 200 and body["answer"] == "You said: still answer" and body["trace_id"] is None
        # The failed set-up ran in the background before the request; the next request reports it.
        [record] = down.emf_records()
        assert record["TracingFailures"] == [1.0] and record["Untraced"] == [1.0]
        assert "MLflow is unavailable" in down.log.read_text()
        status, _, health = get(f"{down.url}/health")
        assert health["tracing"] == "unavailable"
    finally:
        down.stop()
