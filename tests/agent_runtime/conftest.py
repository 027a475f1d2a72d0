"""Real processes on loopback for the agent tests: the scripted model (test double) behind the
SageMaker Runtime emulator, a real MLflow server, and agent services started per test module.

Callers are real: the local identity provider (local_runtime.identity) signs an ES256 token per
caller name, and `post` sends it (caller "tester" unless told otherwise; `caller=None`: no token).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent_runtime.settings import RuntimeSettings
from kit_config.loader import load_environment
from kit_config.project import PROJECT_DIR
from kit_config.runtime_environment import runtime_environment
from local_runtime import mlflow_server, processes
from local_runtime.endpoints import LocalEndpoint, LocalVariant, endpoints_from_environment
from local_runtime.identity import FOREIGN_SETTINGS, LocalIdentity
from tests.local_runtime.support import (
    DUMMY_AWS,
    SESSION_BUCKET,
    start_emulator,
    start_mlflow,
    start_server,
)

ENDPOINT = "governed-agents-dev-llm"
CALLER = "tester"
# One provider for the whole run (every agent process verifies its tokens); created at import so the
# plain helpers below can sign without a fixture.
IDENTITY = LocalIdentity.create(Path(tempfile.mkdtemp(prefix="agent-identity-")))
atexit.register(shutil.rmtree, IDENTITY.folder, True)


@functools.cache
def bearer(caller: str) -> dict[str, str]:
    """The Authorization header of `caller` (a 12-hour token: one per caller for the whole run)."""
    return IDENTITY.headers(caller)


@pytest.fixture
def env(monkeypatch):
    """No AGENT_* variable from the machine or another test, except the one setting without a default:
    RuntimeSettings() reads only what the test sets on the returned monkeypatch."""
    for name in RuntimeSettings.environment_variables():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENT_ENDPOINT_NAME", "governed-agents-dev-llm")
    return monkeypatch


@pytest.fixture(scope="session")
def scripted_endpoint(tmp_path_factory):
    """The dev endpoint in front of the scripted model, plus endpoints for the upstream faults."""
    model = start_server("scripted model (test double)", "local_runtime.model_servers.scripted")
    endpoints = endpoints_from_environment(load_environment("dev"), {"primary": model.url}) + [
        LocalEndpoint("throttled-llm", (LocalVariant("AllTraffic", model.url),), throttle_rps=0.5),
        LocalEndpoint("unreachable-llm", (LocalVariant("AllTraffic", f"http://127.0.0.1:{processes.free_port()}"),)),
    ]
    emulator = start_emulator(endpoints, tmp_path_factory.mktemp("emulator"), invocation_timeout=2.0)
    yield emulator
    emulator.child.stop()
    model.child.stop()


# The MLflow server release SageMaker runs for dev (its tracking server's version): the agent tests
# trace into what dev runs, not into a server at the client's own version.
DEV_MLFLOW = mlflow_server.release_for(load_environment("dev").mlflow)


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory):
    server = start_mlflow(DEV_MLFLOW, tmp_path_factory.mktemp("mlflow"))
    yield server.url
    server.child.stop()


@dataclass
class AgentProcess:
    """An agent service (`python -m agent_runtime`) with its own port and captured output."""

    env: dict
    log: Path
    port: int = field(default_factory=processes.free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_for_tracing: bool = True) -> AgentProcess:
        """Start and wait until it answers; and, unless told not to, until its MLflow set-up (which runs
        in the background, off the request path) has finished or failed, so a first request is traced."""
        self.log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent_runtime", "--port", str(self.port)],
            cwd=PROJECT_DIR,
            env={**os.environ, **self.env},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    tracing = json.loads(response.read()).get("tracing")
                    if response.status == 200 and not (wait_for_tracing and tracing == "starting"):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"agent did not come up: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.log_file.close()

    def restart(self, wait_for_tracing: bool = True) -> AgentProcess:
        self.stop()
        return self.start(wait_for_tracing)

    def emf_records(self) -> list[dict]:
        return emf_records(self.log.read_text(errors="replace"))


def emf_records(output: str) -> list[dict]:
    """The CloudWatch EMF metric records (one JSON document a line) in a process's output."""
    records = []
    for line in output.splitlines():
        start = line.find('{"_aws"')
        if start >= 0:
            records.append(json.loads(line[start:]))
    return records


class BlackholeMlflow:
    """Test double for an MLflow that hangs: a loopback port that accepts connections and never answers.

    Deterministic (no timing luck): a client waits on it until its own timeout. `connections` counts
    the clients that reached it, so a test can tell set-up was attempted, not skipped."""

    def __init__(self) -> None:
        import socket
        import threading

        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections.append(connection)  # held open, never read from or answered

    def close(self) -> None:
        self._socket.close()
        for connection in self.connections:
            connection.close()


class SlowMlflow:
    """Test double for a slow network path to MLflow: a loopback proxy that forwards every request to
    the real MLflow server after `delay` seconds. An export still in flight when a check reads the
    real server directly is then still waiting here: a trace exported late is found missing, not by luck."""

    def __init__(self, upstream: str, delay: float) -> None:
        import http.client
        import threading
        from urllib.parse import urlsplit

        from local_runtime.http_base import LoopbackServer, QuietHandler

        target = urlsplit(upstream)
        self.delay = delay

        class Forward(QuietHandler):
            def _forward(self) -> None:
                body = self.read_body()
                time.sleep(delay)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in ("host", "transfer-encoding", "accept-encoding")
                    }
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                finally:
                    connection.close()
                self.send_bytes(response.status, payload, response.getheader("Content-Type", "application/json"))

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self._server = LoopbackServer("127.0.0.1", 0, Forward, "slow MLflow proxy (test double)")
        self.url = self._server.url
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def blackhole_mlflow():
    double = BlackholeMlflow()
    yield double
    double.close()


@dataclass
class LambdaProcess:
    """A fresh Python process running the real Lambda handler (`lambda_process.py`), as a cold
    environment would: import at init, then the invocations. `results` holds one dict per invocation."""

    env: dict
    started: float = 0.0
    process: subprocess.Popen | None = None

    def run(self, *args: str, timeout: float = 180) -> list[dict]:
        script = Path(__file__).with_name("lambda_process.py")
        self.started = time.monotonic()
        self.process = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={
                **os.environ,
                "AWS_LAMBDA_FUNCTION_NAME": "governed-agents-dev-agent",
                **self.env,
                "AGENT_AUTH_MODE": "iam",
            },  # behind an IAM-authenticated Function URL
        )
        assert self.process.returncode == 0, self.process.stderr[-3000:]
        return self.lines("RESULT")

    def lines(self, kind: str) -> list[dict]:
        prefix = f"{kind} "
        return [json.loads(line[len(prefix) :]) for line in self.process.stdout.splitlines() if line.startswith(prefix)]

    def emf_records(self) -> list[dict]:
        return emf_records(self.process.stdout)


def post(
    url: str, body, headers: dict | None = None, timeout: float = 60, caller: str | None = CALLER
) -> tuple[int, dict, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json", **(bearer(caller) if caller else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                json.loads(response.read() or b"{}"),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read() or b"{}")


def get(url: str, timeout: float = 30) -> tuple[int, dict, dict]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return (
            response.status,
            {k.lower(): v for k, v in response.headers.items()},
            json.loads(response.read() or b"{}"),
        )


def turn(
    agent_url: str,
    prompt: str,
    session: str | None = None,
    *,
    path: str = "/invoke",
    caller: str | None = CALLER,
    **kwargs,
) -> tuple[int, dict, dict]:
    """One turn: a new session unless `session` (an id the server issued) continues one."""
    body = {"prompt": prompt, **({"session_id": session} if session else {})}
    return post(f"{agent_url}{path}", body, caller=caller, **kwargs)


def sse(raw: str) -> list[tuple[str, dict]]:
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.fixture(scope="module")
def agent_env(scripted_endpoint, mlflow_url, tmp_path_factory):
    """The dev environment's AGENT_* settings, as the stacks set them, pointed at the local endpoint."""
    deployed = runtime_environment(
        load_environment("dev"), mlflow_tracking_uri=mlflow_url, session_dir=str(tmp_path_factory.mktemp("sessions"))
    )
    return {
        **{name: value for name, value in deployed.items() if name not in FOREIGN_SETTINGS},
        **IDENTITY.agent_settings(),
        **DUMMY_AWS,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": scripted_endpoint.url,
        "AGENT_MAX_ATTEMPTS": "1",  # one attempt: faults surface immediately (retries have their own test)
    }


@pytest.fixture(scope="module")
def agent(agent_env, tmp_path_factory):
    process = AgentProcess(agent_env, tmp_path_factory.mktemp("agent") / "agent.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def s3_agent_env(agent_env, local_s3):
    """`agent_env` with sessions, locks and caller slots on the local S3 server, as on AWS."""
    return {**agent_env, "AGENT_SESSION_BUCKET": SESSION_BUCKET, "AWS_ENDPOINT_URL_S3": local_s3}


@pytest.fixture(scope="module")
def s3_agent(s3_agent_env, tmp_path_factory):
    process = AgentProcess(s3_agent_env, tmp_path_factory.mktemp("s3-agent") / "agent.log").start()
    yield process
    process.stop()


@pytest.fixture(params=["files", "s3"])
def store_agent(request):
    """The module's agent with sessions in files, then the same agent with sessions on S3."""
    return request.getfixturevalue("agent" if request.param == "files" else "s3_agent")
