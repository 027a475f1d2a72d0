"""The agent on S3 sessions over HTTP (the local S3 server, local_runtime.s3_server): a turn waiting on
storage leaves the worker serving, and an abandoned session lock is taken over while a live one is
not. (Conversation, 404 and 409 on both stores: test_http_api.py, `store_agent`.)"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.agent_runtime.conftest import AgentProcess, turn
from tests.local_runtime.support import SESSION_BUCKET, s3_client

HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}


class GatedS3:
    """Test double for a slow S3: a loopback proxy in front of the local S3 server that forwards every
    request, except that, once armed, it holds the first one matching `pattern` ("METHOD /path regex")
    until `release()`. While a turn's storage call is held there, what the agent does is a matter of
    where that call runs, not of timing."""

    def __init__(self, upstream: str, pattern: str) -> None:
        from local_runtime.http_base import LoopbackServer, QuietHandler

        target = urlsplit(upstream)
        method, path = pattern.split(" ", 1)
        self.method, self.path = method, re.compile(path)
        self.armed, self.held, self._release = False, threading.Event(), threading.Event()
        gate = self

        class Forward(QuietHandler):
            def _forward(self) -> None:
                body = self.read_body()
                if gate.matches(self.command, self.path):
                    gate.held.set()
                    gate._release.wait(60)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                finally:
                    connection.close()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
                # HEAD: the length of the body a GET would have had, and none sent.
                self.send_header("Content-Length", response.getheader("Content-Length") or str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        self._server = LoopbackServer("127.0.0.1", 0, Forward, "gated S3 proxy (test double)")
        self.url = self._server.url
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def matches(self, method: str, path: str) -> bool:
        if self.armed and method == self.method and self.path.search(path):
            self.armed = False  # the first match only
            return True
        return False

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def health(agent: AgentProcess, timeout: float) -> int:
    with urllib.request.urlopen(f"{agent.url}/health", timeout=timeout) as response:
        return response.status


@pytest.mark.parametrize(
    "held",
    [
        pytest.param(r"PUT /\.lock", id="session-lock"),
        pytest.param(r"GET /session_[0-9a-f]+/session\.json", id="session-load"),
        pytest.param(r"PUT /messages/message_", id="turn-writes"),
    ],
)
def test_a_turn_waiting_on_s3_leaves_the_worker_serving(s3_agent_env, local_s3, tmp_path, held):
    """Before: the lock, the session's load (in Strands' manager's constructor and AgentInitializedEvent)
    and the message writes (Strands' MessageAddedEvent hooks; now the turn's commit, TurnWrites) ran on
    the event loop, so while one of them waited on S3 the worker answered nothing else: `/health` here
    timed out."""
    gate = GatedS3(local_s3, held)
    untraced = {k: v for k, v in s3_agent_env.items() if k != "AGENT_MLFLOW_TRACKING_URI"}
    worker = AgentProcess({**untraced, "AWS_ENDPOINT_URL_S3": gate.url}, tmp_path / "agent.log").start()
    answers: list = []
    try:
        assert turn(worker.url, "warm up")[0] == 200  # first-use imports and clients, outside the held turn
        gate.armed = True
        waiting = threading.Thread(target=lambda: answers.append(turn(worker.url, "held on S3")))
        waiting.start()
        assert gate.held.wait(30), "the turn never made the storage call"
        assert health(worker, timeout=10) == 200  # answered while the turn waits on S3
        assert not answers  # the turn is still waiting
        gate.release()
        waiting.join(60)
        assert answers[0][0] == 200, answers
    finally:
        gate.close()
        worker.stop()


def session_prefix(s3, session_id: str) -> str:
    """The caller's prefix of a session (`sessions/<caller_id>/`), found in the bucket."""
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=SESSION_BUCKET, Prefix="sessions/")["Contents"]]
    return next(key for key in keys if key.endswith(f"session_{session_id}/session.json")).split("session_")[0]


def test_an_abandoned_session_lock_is_taken_over_and_a_live_one_answers_409(s3_agent, local_s3):
    s3 = s3_client(local_s3)
    status, _, first = turn(s3_agent.url, "[scenario:multi_turn] first")
    assert status == 200, first
    session = first["session_id"]
    lock = f"{session_prefix(s3, session)}{session}/.lock"
    # A request that crashed holding the lock: written long before twice the request timeout.
    s3.put_object(Bucket=SESSION_BUCKET, Key=lock, Body=json.dumps({"acquired_at": 0, "token": "crashed"}).encode())
    status, _, second = turn(s3_agent.url, "[scenario:multi_turn] second", session)
    assert (status, second["answer"]) == (200, "Turn 2: second")
    # A request in flight elsewhere: the session is busy, and its history untouched.
    s3.put_object(Bucket=SESSION_BUCKET, Key=lock, Body=json.dumps({"acquired_at": time.time(), "token": "live"}))
    status, headers, busy = turn(s3_agent.url, "[scenario:multi_turn] third", session)
    assert (status, headers["retry-after"], busy["error"]["code"]) == (409, "1", "SessionBusy")
    assert json.loads(s3.get_object(Bucket=SESSION_BUCKET, Key=lock)["Body"].read())["token"] == "live"
    s3.delete_object(Bucket=SESSION_BUCKET, Key=lock)  # that request ends
    status, _, third = turn(s3_agent.url, "[scenario:multi_turn] third", session)
    assert (status, third["answer"]) == (200, "Turn 3: third")
