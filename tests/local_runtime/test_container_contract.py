"""The SageMaker container contract of each model server: GET /ping within 2 s, POST /invocations,
the port given, unknown paths 404, and a clean exit 0 on SIGTERM."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time

import pytest

from tests.local_runtime.support import start_server
from tests.local_runtime.support import chat, sse_events


def _request(url: str, method: str, path: str, body: str | None = None, timeout: float = 30.0) -> tuple[int, bytes, float]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    started = time.monotonic()
    connection.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data, time.monotonic() - started


@pytest.fixture(scope="module")
def proxy_model(scripted_model):
    """The proxy server in front of the scripted double's OpenAI-compatible route."""
    server = start_server("proxy model server", "local_runtime.model_servers.proxy", "--base-url", f"{scripted_model.url}/v1",
                          "--model", "scripted")
    yield server
    server.child.stop()


@pytest.fixture(params=["scripted_model", "proxy_model", "real_model"])
def model_server(request):
    return request.getfixturevalue(request.param)


def test_ping_answers_200_within_two_seconds(model_server):
    status, _, elapsed = _request(model_server.url, "GET", "/ping")
    assert status == 200 and elapsed < 2.0


def test_invocations_answers_chat_completions(model_server):
    status, data, _ = _request(model_server.url, "POST", "/invocations", chat("Say hi", max_tokens=8, temperature=0))
    assert status == 200
    body = json.loads(data)
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_streamed_invocations_asking_for_usage_end_with_vllms_usage_chunk(model_server):
    body = chat("Say hi", stream=True, max_tokens=8, temperature=0, stream_options={"include_usage": True})
    status, data, _ = _request(model_server.url, "POST", "/invocations", body)
    events = sse_events(data)
    assert status == 200 and events[-1] == "[DONE]"
    final = events[-2]  # vLLM's final usage chunk: no choices, the three counters
    assert set(final) == {"id", "object", "created", "model", "choices", "usage"} and final["choices"] == []
    assert set(final["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"} and final["usage"]["completion_tokens"] >= 1
    assert all("usage" not in e for e in events[:-2])  # only the final chunk (no continuous_usage_stats asked)
    assert any(e["choices"] and e["choices"][0]["finish_reason"] for e in events[:-2])


@pytest.mark.parametrize("stream_options", [None, {"include_usage": False}])
def test_streamed_invocations_not_asking_for_usage_carry_none(model_server, stream_options):
    # As vLLM/LMI: a client that does not ask gets no token counts (the proxy must not ask for it).
    extra = {} if stream_options is None else {"stream_options": stream_options}
    status, data, _ = _request(model_server.url, "POST", "/invocations", chat("Say hi", stream=True, max_tokens=8, temperature=0, **extra))
    events = sse_events(data)
    assert status == 200 and events[-1] == "[DONE]" and len(events) > 2
    assert all(e["choices"] and "usage" not in e for e in events[:-1])
    assert events[-2]["choices"][0]["finish_reason"]


def test_stream_options_without_stream_are_refused_as_lmi_refuses_them(model_server):
    status, data, _ = _request(model_server.url, "POST", "/invocations", chat("Say hi", max_tokens=8, stream_options={"include_usage": True}))
    body = json.loads(data)
    assert status == 424 and set(body) == {"code", "error"} and body["code"] == 424
    assert body["error"].startswith("Input Parsing failed.") and "Stream options can only be defined when `stream=True`." in body["error"]
    # An empty stream_options is falsy to vLLM's check: answered, with the usage a whole answer always has.
    status, data, _ = _request(model_server.url, "POST", "/invocations", chat("Say hi", max_tokens=8, stream_options={}))
    assert status == 200 and "usage" in json.loads(data)


def test_bad_requests_and_unknown_paths(model_server):
    assert _request(model_server.url, "POST", "/invocations", "{not json")[0] == 400
    assert _request(model_server.url, "GET", "/nothing-here")[0] == 404


def test_ping_stays_fast_while_a_slow_generation_runs(scripted_model):
    done = threading.Event()

    import urllib.request

    def slow_call():
        request = urllib.request.Request(f"{scripted_model.url}/invocations", data=chat("a b c d", stream=True).encode(),
                                         headers={"X-Amzn-SageMaker-Custom-Attributes": "scenario=slow_tokens;delay_ms=300"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        done.set()

    threading.Thread(target=slow_call, daemon=True).start()
    time.sleep(0.3)
    status, _, elapsed = _request(scripted_model.url, "GET", "/ping")
    assert status == 200 and elapsed < 0.5 and not done.is_set()
    assert done.wait(10)


@pytest.mark.parametrize("module,args", [
    ("local_runtime.model_servers.scripted", ()),
    ("local_runtime.model_servers.llama", ("--n-ctx", "512", "--threads", "1")),
])
def test_sigterm_exits_cleanly(module, args):
    server = start_server(module, module, *args, ready_timeout=90)
    process = server.child.process
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def test_a_port_in_use_is_named_in_the_error(scripted_model):
    import subprocess
    import sys

    port = scripted_model.url.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, "-m", "local_runtime.model_servers.scripted", "--port", port],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and f"port {port}" in result.stderr and "already in use" in result.stderr
