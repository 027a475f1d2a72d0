"""The internal Lambda extension against the Lambda Runtime API test double (real HTTP on loopback):
it registers during init, starts its work only once the handler has finished the invocation, and
calls Next (the environment may freeze) only once the work is done."""

from __future__ import annotations

import threading
import time

import pytest

from agent_runtime.lambda_extension import DEADLINE_MARGIN_SECONDS, ExtensionError, PostResponseWork
from local_runtime.lambda_runtime_api import LambdaRuntimeApiDouble


@pytest.fixture
def api():
    double = LambdaRuntimeApiDouble().start()
    yield double
    double.close()


def test_the_work_runs_after_the_handler_and_before_next(api):
    calls, release = [], threading.Event()

    def work(seconds_left: float) -> None:
        calls.append(seconds_left)
        release.wait(10)

    extension = PostResponseWork(api.address, work)
    extension.start()
    assert api.registered == ["agent-trace-export"] and api.wait_until_frozen(5)  # init done: in Next
    deadline_ms = int(time.time() * 1000) + 30_000
    api.invoke("request-1", deadline_ms)
    assert not api.wait_until_frozen(0.3) and calls == []  # the handler has not finished: no work yet
    extension.finished("request-1")
    assert not api.wait_until_frozen(0.3)  # working: Lambda may not freeze the environment yet
    assert len(calls) == 1 and 28 < calls[0] <= 30 - DEADLINE_MARGIN_SECONDS  # bounded by the deadline
    release.set()
    assert api.wait_until_frozen(5)  # done: Next
    # The handler may finish before the extension has even read the event: the work still runs once.
    extension.finished("request-2")
    api.invoke("request-2")
    assert api.wait_until_frozen(5) and len(calls) == 2


def test_a_failing_work_still_reaches_next(api):
    def work(seconds_left: float) -> None:
        raise RuntimeError("MLflow exploded")

    extension = PostResponseWork(api.address, work)
    extension.start()
    api.invoke("request-1")
    extension.finished("request-1")
    assert api.wait_until_frozen(5) and extension.running


def test_registration_is_refused_after_init_and_for_shutdown(api):
    api.invoke("request-1")  # init is over
    with pytest.raises(ExtensionError, match="403"):
        PostResponseWork(api.address, lambda seconds: None).start()


def test_the_double_refuses_what_lambda_refuses_an_internal_extension(api):
    import http.client
    import json

    host, port = api.address.split(":")

    def register(headers: dict, events: list) -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request(
            "POST", "/2020-01-01/extension/register", body=json.dumps({"events": events}), headers=headers
        )
        return connection.getresponse().status

    assert register({"Lambda-Extension-Name": "x"}, ["INVOKE", "SHUTDOWN"]) == 400
    assert register({}, ["INVOKE"]) == 400
    assert register({"Lambda-Extension-Name": "x"}, ["INVOKE"]) == 200
