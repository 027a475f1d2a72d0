"""Every request's trace lands in a real MLflow server, tagged; each agent version is registered once;
the lineage command reconstructs a trace's context; MLflow being down never fails a request."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from kit_config.project import PROJECT_DIR
from tests.agent_runtime.conftest import AgentProcess, get, post


def wait_for_trace(tracking_uri: str, trace_id: str, timeout: float = 20):
    import mlflow  # in the functions that use it: collecting this file stays quick where they are not run

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
    status, _, body = post(
        f"{agent.url}/invoke",
        {"prompt": "[scenario:tool_call] trace me"},
        headers={"X-Request-Id": "req-trace-1"},
        caller="numbat5150",
    )
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
    import mlflow

    session = post(f"{agent.url}/invoke", {"prompt": "again"})[2]["session_id"]
    agent.restart()  # a new process must find, not re-create, the version
    status, _, body = post(f"{agent.url}/invoke", {"prompt": "and again", "session_id": session})
    assert status == 200
    mlflow.set_tracking_uri(mlflow_url)
    experiment = mlflow.get_experiment_by_name("governed-agents-dev-agent")
    models = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        filter_string=f"name = '{body['agent_version']}'",
        output_format="list",
    )
    assert len(models) == 1
    params = models[0].params
    assert params["param.max_tokens"] == "512" and params["endpoint.endpoint_name"] == "governed-agents-dev-llm"
    assert params["tools"] == "classify_ticket_priority,current_time,search_knowledge_base"
    artifacts = {a.path for a in mlflow.MlflowClient(mlflow_url).list_logged_model_artifacts(models[0].model_id)}
    assert {"system_prompt.md", "tool_specs.json", "version_material.json"} <= artifacts


def test_lineage_command_prints_the_runtime_context_of_a_trace(agent, mlflow_url):
    _status, _, body = post(f"{agent.url}/invoke", {"prompt": "what produced this?"})
    wait_for_trace(mlflow_url, body["trace_id"])
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime.lineage", body["trace_id"], "--tracking-uri", mlflow_url],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    context = json.loads(result.stdout)
    assert context["tags"]["agent.session_id"] == body["session_id"]
    assert context["caller_id"] == context["tags"]["agent.caller_id"] and len(context["caller_id"]) == 32
    material = context["agent_version"]["material"]
    assert context["agent_version"]["name"] == body["agent_version"]
    assert "support-triage assistant" in material["system_prompt"]
    assert material["parameters"] == {"max_tokens": 512, "temperature": 0.2, "top_p": 0.9}
    assert [tool["name"] for tool in material["tools"]] == [
        "classify_ticket_priority",
        "current_time",
        "search_knowledge_base",
    ]


def test_lineage_command_reports_an_unknown_trace(mlflow_url):
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime.lineage", "tr-0000", "--tracking-uri", mlflow_url],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "no trace tr-0000" in result.stderr


def test_mlflow_down_never_fails_a_request_and_is_counted(agent_env, tmp_path):
    from local_runtime import processes

    down = AgentProcess(
        {**agent_env, "AGENT_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{processes.free_port()}"},
        tmp_path / "no-mlflow.log",
    ).start()
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


def test_the_drain_waits_for_mlflows_export_queue_without_stopping_its_threads():
    """Pins what `Lineage.drain` relies on in MLflow's private code (an upgrade that changes it fails
    here, not silently on Lambda): `MlflowV3SpanExporter._async_queue` is an `AsyncTraceExportQueue`
    whose `_queue` is a `queue.Queue` that its workers mark `task_done()` after each export."""
    import threading

    from mlflow.tracing.export.async_export_queue import AsyncTraceExportQueue, Task
    from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter

    from agent_runtime.lineage import exports_done, pending_exports

    exporter = MlflowV3SpanExporter.__new__(MlflowV3SpanExporter)  # only its queue is used here
    exporter._async_queue = AsyncTraceExportQueue()
    queue = pending_exports(exporter)
    exported, release = [], threading.Event()

    def slow_export(number):
        release.wait(10)
        exported.append(number)

    for number in range(3):
        exporter._async_queue.put(Task(handler=slow_export, args=(number,)))
    assert exports_done(queue, 0.3) is False and exported == []  # bounded: returns while exports are pending
    release.set()
    assert exports_done(queue, 10) is True and sorted(exported) == [0, 1, 2]  # every export finished
    consumer = exporter._async_queue._consumer_thread
    assert consumer.is_alive()  # not stopped, joined or restarted (what flush_trace_async_logging does)
    exporter._async_queue.put(Task(handler=exported.append, args=(3,)))
    assert exports_done(queue, 10) and exported[-1] == 3 and exporter._async_queue._consumer_thread is consumer
    assert pending_exports(object()) is None  # async export off: no queue, nothing pending
    exporter._async_queue.flush(terminate=True)  # this queue's threads end with the test


def test_optional_modules_that_are_not_installed_fail_at_once_for_mlflows_header_providers(monkeypatch):
    """MLflow's Databricks header provider tries these imports on every request to MLflow: once
    remembered as absent, no finder searches for them again; an installed module is left alone."""
    import importlib

    from mlflow.tracking.request_header.databricks_request_header_provider import DatabricksRequestHeaderProvider

    from agent_runtime.lineage import ABSENT_OPTIONAL_MODULES, remember_absent_modules

    for name in ABSENT_OPTIONAL_MODULES:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]  # as in a fresh process (a set-up in this process may have remembered them)
    searched = []

    class Spy:
        @staticmethod
        def find_spec(name, path=None, target=None):
            searched.append(name.split(".")[0])
            return None

    monkeypatch.setattr(sys, "meta_path", [Spy(), *sys.meta_path])
    assert DatabricksRequestHeaderProvider().in_context() is False
    assert set(ABSENT_OPTIONAL_MODULES) <= set(searched)  # what the provider imports each time (pinned)
    absent = remember_absent_modules([*ABSENT_OPTIONAL_MODULES, "json"])
    assert absent == list(ABSENT_OPTIONAL_MODULES) and importlib.import_module("json")  # installed: untouched
    searched.clear()
    assert DatabricksRequestHeaderProvider().in_context() is False  # same answer
    assert not set(ABSENT_OPTIONAL_MODULES) & set(searched)  # and no search
    for name in ABSENT_OPTIONAL_MODULES:
        with pytest.raises(ImportError):
            importlib.import_module(name)
        del sys.modules[name]  # leave the pytest process as it was
