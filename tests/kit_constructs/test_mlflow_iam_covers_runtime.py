"""Every MLflow REST call the agent runtime makes is authorized by the IAM grant it runs with on AWS.

A local MLflow server has no IAM, so a call whose `sagemaker-mlflow` action is missing from
`grant_tracing` passes every local test and fails only in production (AccessDenied, swallowed by
MLflow's tracing). Here the real runtime runs against a real local MLflow server through
`MlflowCallSpy`, a recording reverse proxy (a spy: every request reaches the server unchanged),
and each recorded call is looked up in kit_constructs/mlflow_actions.py's REST -> IAM table and
checked against the actions the synthesized grant policy carries:

- `python -m agent_runtime` (the service): its first request runs `Lineage.configure()`
  (experiment, LoggedModel search/create/artifacts/finalize, set_active_model), then one traced
  turn with a tool call -> `grant_tracing`;
- `python -m agent_runtime.lineage TRACE_ID`, what reviewers run -> `grant_read`.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from kit_config.project import PROJECT_DIR
from kit_constructs.mlflow_actions import (
    NAMED,
    NO_ACTION,
    REST_CALLS,
    SERVICE_AUTHORIZATION_ACTIONS,
    coverage_gaps,
    rest_call_for,
)
from kit_constructs.mlflow_tracking import _CALL_API, READ_ACTIONS, TRACING_ACTIONS
from tests.agent_runtime.conftest import AgentProcess, agent_env, mlflow_url, post, scripted_endpoint  # noqa: F401 - fixtures
from tests.agent_runtime.test_lineage import wait_for_trace
from tests.governance.test_mlflow_rules import APP, SERVER
from tests.kit_constructs.test_mlflow_tracking import actions_of, agent_statements, synth

KINDS = {"tracking_server": SERVER, "app": APP}


class MlflowCallSpy(ThreadingHTTPServer):
    """A reverse proxy on loopback in front of a real MLflow server, recording (method, path) of each call."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Forward)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take(self) -> list[tuple[str, str]]:
        with self.lock:
            calls, self.calls = self.calls, []
        return calls


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as MLflow's requests session expects

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self) -> None:
        spy: MlflowCallSpy = self.server
        body = self._body()
        with spy.lock:
            spy.calls.append((self.command, urlsplit(self.path).path))
        upstream = http.client.HTTPConnection(spy.upstream.hostname, spy.upstream.port, timeout=60)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "transfer-encoding")
        }
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward


@pytest.fixture(scope="module")
def recorded(mlflow_url, agent_env, tmp_path_factory):  # noqa: F811 - the imported fixtures
    """The calls of one agent service run (set-up + a traced turn) and of one lineage command."""
    spy = MlflowCallSpy(mlflow_url)
    # A fresh experiment: the version is not registered there yet, so set-up takes the registration path.
    env = {**agent_env, "AGENT_MLFLOW_TRACKING_URI": spy.url, "AGENT_MLFLOW_EXPERIMENT": f"iam-{uuid.uuid4().hex[:8]}"}
    agent = AgentProcess(env, tmp_path_factory.mktemp("iam") / "agent.log").start()
    try:
        status, _, body = post(f"{agent.url}/invoke", {"prompt": "[scenario:tool_call] check my grants"})
        assert status == 200 and body["trace_id"], body
        wait_for_trace(mlflow_url, body["trace_id"])  # read straight from the server, not through the spy
    finally:
        agent.stop()
    assert agent.emf_records()[-1]["TracingFailures"] == [0.0], agent.log.read_text()[-3000:]
    tracing = spy.take()
    result = subprocess.run(
        [sys.executable, "-m", "agent_runtime.lineage", body["trace_id"], "--tracking-uri", spy.url],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    read = spy.take()
    spy.shutdown()
    spy.server_close()
    return {"tracing": tracing, "read": read}


def granted(kind: str, grant: str) -> set[str]:
    """The actions the synthesized policy allows on the MLflow resource's ARN (what deploys, not the tuple)."""
    template, uri = synth(KINDS[kind], lambda tracking, principal: getattr(tracking, grant)(principal))
    return {a for s in agent_statements(template) if s["Resource"] == uri for a in actions_of(s)}


def operations(calls) -> set[str]:
    return {rest_call_for(method, path).operation for method, path in calls if rest_call_for(method, path)}


def test_the_runtime_really_registered_its_version_and_exported_a_trace(recorded, mlflow_url):  # noqa: F811
    from agent_runtime.trace_ids import server_issues_trace_ids

    # Not vacuous: set-up took the registration path and the trace went through the server's trace API:
    # V2 start and end on a 3.0.x server (the one dev runs; agent_runtime/trace_ids.py), else V3.
    v2 = server_issues_trace_ids(mlflow_url)
    assert {
        "GetExperimentByName",
        "CreateExperiment",
        "SearchLoggedModels",
        "CreateLoggedModel",
        "FinalizeLoggedModel",
        "GetLoggedModel",
        "UploadArtifact",
        *(("StartTrace", "EndTrace") if v2 else ("StartTraceV3",)),
    } <= operations(recorded["tracing"])
    read = "GetTraceInfo" if v2 else "GetTraceInfoV3"
    assert {read, "SearchLoggedModels", "DownloadArtifact"} <= operations(recorded["read"])


@pytest.mark.parametrize("kind", KINDS)
def test_grant_tracing_authorizes_every_call_the_agent_runtime_makes(recorded, kind):
    assert coverage_gaps(recorded["tracing"], granted(kind, "grant_tracing"), per_call=_CALL_API[kind]) == []


@pytest.mark.parametrize("kind", KINDS)
def test_grant_read_authorizes_every_call_the_lineage_command_makes(recorded, kind):
    assert coverage_gaps(recorded["read"], granted(kind, "grant_read"), per_call=_CALL_API[kind]) == []


def test_the_check_rejects_a_grant_missing_any_action_the_runtime_needs(recorded):
    needed = {a for method, path in recorded["tracing"] for a in rest_call_for(method, path).actions}
    assert "sagemaker-mlflow:LogModel" in needed and "sagemaker-mlflow:StartTrace" in needed
    for action in sorted(needed):
        reduced = tuple(a for a in TRACING_ACTIONS if a != action)
        gaps = coverage_gaps(recorded["tracing"], reduced)
        assert gaps and all(action in gap for gap in gaps), (action, gaps)
    # An App without CallMlflowAppApi fails every call; a call missing from the table is reported too.
    api_calls = {(m, p) for m, p in recorded["tracing"] if rest_call_for(m, p).actions}
    app_gaps = coverage_gaps(recorded["tracing"], TRACING_ACTIONS, per_call=_CALL_API["app"])
    assert len(app_gaps) == len(api_calls) and all("sagemaker:CallMlflowAppApi" in gap for gap in app_gaps)
    [unmapped] = coverage_gaps([("POST", "/api/3.0/mlflow/logged-models/new-op")], TRACING_ACTIONS)
    assert "not in REST_CALLS" in unmapped


def test_every_action_free_entry_is_a_call_the_runtime_makes(recorded):
    # Entries without an action are exemptions: each must stay justified by a recorded call.
    seen = {rest_call_for(m, p) for m, p in recorded["tracing"] + recorded["read"]}
    unused = [f"{c.method} {c.path}" for c in REST_CALLS if c.basis == NO_ACTION and c not in seen]
    assert unused == []


def test_table_and_grants_name_only_actions_the_service_authorization_reference_lists():
    for call in REST_CALLS:
        assert set(call.actions) <= SERVICE_AUTHORIZATION_ACTIONS, call
        assert bool(call.actions) == (call.basis != NO_ACTION), call
        if call.basis == NAMED:  # "named" means exactly that: the action carries the operation's name
            assert call.actions == (f"sagemaker-mlflow:{call.operation}",), call
    assert set(TRACING_ACTIONS) | set(READ_ACTIONS) <= SERVICE_AUTHORIZATION_ACTIONS
    # IAM takes a misspelt or invented action silently: the tempting one for LoggedModel creation does not exist.
    assert "sagemaker-mlflow:CreateLoggedModel" not in SERVICE_AUTHORIZATION_ACTIONS
    # Each granted action is explained by a table entry (AccessUI authorizes the UI, not a REST path).
    explained = {a for call in REST_CALLS for a in call.actions}
    assert (set(TRACING_ACTIONS) | set(READ_ACTIONS)) - explained == {"sagemaker-mlflow:AccessUI"}
    assert len(TRACING_ACTIONS) == len(set(TRACING_ACTIONS)) and len(READ_ACTIONS) == len(set(READ_ACTIONS))


def test_table_paths_are_routes_of_the_installed_mlflow_server():
    from mlflow.server import app

    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods}

    def flask(template: str) -> str:
        return template.replace("{artifact_path*}", "<path:artifact_path>").replace("{", "<").replace("}", ">")

    # /v1/traces is the OTLP receiver, served by MLflow's FastAPI app rather than the Flask routes.
    missing = [
        f"{c.method} {c.path}" for c in REST_CALLS if c.path != "/v1/traces" and (c.method, flask(c.path)) not in routes
    ]
    assert missing == []
    assert ("POST", flask("/api/2.0/mlflow/logged-models/create")) not in routes  # a plausible typo is caught
