"""The agent service end to end over real HTTP: scripted model (test double) -> emulator -> agent.

Covers answers and streaming, tools and limits, tracing into a real MLflow server, sessions that
survive a restart and refuse interleaving (in files and on the local S3 server: `store_agent`), bad
requests. Every upstream fault, with its whole outcome (status, trace, metrics, session), is in
test_faults.py.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.request

import pytest

from tests.agent_runtime.conftest import AgentProcess, bearer, post, sse, turn


def invoke(agent, prompt: str, session: str | None = None, **kwargs):
    return turn(agent.url, prompt, session, **kwargs)


def stream_request(agent, body: dict) -> urllib.request.Request:
    return urllib.request.Request(
        f"{agent.url}/invoke/stream",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **bearer("tester")},
    )


def test_health_reports_the_agent_version(agent):
    with urllib.request.urlopen(f"{agent.url}/health", timeout=10) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok" and health["agent_version"].startswith("agent-")
    assert health["endpoint"] == "governed-agents-dev-llm" and health["env"] == "dev"


def test_invoke_answers_with_usage_and_a_trace(agent, mlflow_url):
    from agent_runtime.trace_ids import read_trace

    status, headers, body = invoke(agent, "hello agent", headers={"X-Request-Id": "req-answer-1"})
    assert status == 200, body
    assert body["answer"] == "You said: hello agent"
    assert body["request_id"] == "req-answer-1" and headers["x-request-id"] == "req-answer-1"
    # The id the MLflow server has the trace under (a 3.0.x server issues its own; it holds the trace from
    # its start, so it is there before the answer, whatever the export's progress).
    assert read_trace(mlflow_url, body["trace_id"]) is not None
    usage = body["usage"]
    assert usage["model_calls"] == 1 and usage["tool_calls"] == 0 and usage["tools_used"] == []
    # Streamed token counts exist only because the agent asks for the usage chunk (vLLM/LMI send
    # none otherwise, and neither do the local model servers).
    assert usage["input_tokens"] > 0 and usage["output_tokens"] == len("You said: hello agent".split())
    assert usage["retries"] == 0
    assert usage["estimated_cost_usd"] > 0  # dev's ml.g6.xlarge price shared by its concurrent requests


def test_stream_sends_tokens_then_a_final_event(agent):
    request = stream_request(agent, {"prompt": "stream these words please"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.read().decode())
    tokens = [data["text"] for kind, data in events if kind == "token"]
    assert len(tokens) > 3 and "".join(tokens) == "You said: stream these words please"
    kind, final = events[-1]
    assert kind == "final" and final["answer"] == "".join(tokens) and final["trace_id"]
    assert final["usage"]["time_to_first_token_ms"] <= final["usage"]["latency_ms"]


def test_a_tool_call_runs_the_real_tool(agent):
    status, _, body = invoke(agent, "[scenario:tool_call] my laptop is broken")
    assert status == 200, body
    assert body["usage"]["tool_calls"] == 1 and body["usage"]["model_calls"] == 2
    assert body["usage"]["tools_used"] == ["search_knowledge_base"]
    assert "The tool returned:" in body["answer"] and '"results"' in body["answer"]  # search_knowledge_base ran


def test_sessions_keep_the_conversation_across_a_restart(store_agent):
    agent = store_agent  # files, then S3
    first = invoke(agent, "[scenario:multi_turn] first")[2]
    session = first["session_id"]  # issued by the server
    assert first["answer"] == "Turn 1: first" and len(session) == 32
    assert invoke(agent, "[scenario:multi_turn] second", session)[2]["answer"] == "Turn 2: second"
    agent.restart()
    assert invoke(agent, "[scenario:multi_turn] third", session)[2]["answer"] == "Turn 3: third"
    other = invoke(agent, "[scenario:multi_turn] other")[2]
    assert other["answer"] == "Turn 1: other" and other["session_id"] != session


def test_a_session_id_the_server_never_issued_is_not_found(store_agent):
    status, _, body = invoke(store_agent, "hello", "made-up-by-the-client")
    assert (status, body["error"]["code"]) == (404, "SessionNotFound")


def test_concurrent_requests_on_one_session_never_interleave(store_agent):
    agent = store_agent  # files, then S3
    results = []
    session = invoke(agent, "start")[2]["session_id"]

    def slow():
        results.append(invoke(agent, "[scenario:fixed_latency] slow one", session))

    first = threading.Thread(target=slow)
    first.start()
    time.sleep(0.3)
    second = invoke(agent, "[scenario:echo] meanwhile", session)
    first.join(30)
    assert second[0] == 409 and second[1]["retry-after"] == "1" and second[2]["error"]["code"] == "SessionBusy"
    assert results[0][0] == 200
    assert invoke(agent, "after", session)[0] == 200  # the lock is released


BAD_REQUESTS = [
    (b"not json", 400, "InvalidJson"),
    (b'["a list"]', 400, "InvalidJson"),
    (json.dumps({"session_id": "valid-0001"}).encode(), 400, "InvalidPrompt"),
    (json.dumps({"prompt": "  ", "session_id": "valid-0001"}).encode(), 400, "InvalidPrompt"),
    (json.dumps({"prompt": "hi", "session_id": "bad id!"}).encode(), 400, "InvalidSessionId"),
    (json.dumps({"prompt": "hi", "session_id": "valid-0001", "model": "x"}).encode(), 400, "UnknownField"),
    (json.dumps({"prompt": "x" * 8001, "session_id": "valid-0001"}).encode(), 413, "PromptTooLarge"),
    (json.dumps({"prompt": "x" * 40000, "session_id": "valid-0001"}).encode(), 413, "RequestTooLarge"),
]


@pytest.mark.parametrize("body, status, code", BAD_REQUESTS)
@pytest.mark.parametrize("path", ["/invoke", "/invoke/stream"])
def test_bad_requests_get_a_json_error_and_never_a_trace(agent, body, status, code, path):
    got, _, error = post(f"{agent.url}{path}", body)
    assert (got, error["error"]["code"]) == (status, code)
    assert "Traceback" not in json.dumps(error)


OFFERED_BYTES = 50 * 2**20  # what the chunked sender below would send if nobody stopped it
CHUNK_BYTES = 64 * 2**10


def _offer_chunked(agent, path: str) -> tuple[http.client.HTTPResponse, bytes, int]:
    """POST a chunked body (no Content-Length) of up to OFFERED_BYTES, made lazily, chunk by chunk, while
    the response is read on the same connection. Returns the response, its body and the bytes the
    sender got rid of before the server stopped it (or all of them)."""
    connection = socket.create_connection(("127.0.0.1", agent.port), timeout=60)
    # Our side's kernel buffer, kept small so `sent` is close to what the server's side took.
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK_BYTES)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    head += ["Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in bearer("tester").items())]
    connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0

    def pieces():
        yield b'{"prompt": "'
        while sent < OFFERED_BYTES:
            yield b"x" * CHUNK_BYTES

    def send() -> None:
        nonlocal sent
        try:
            for piece in pieces():
                connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: the offer ends here

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(connection)
        response.begin()
        body = response.read()
        sender.join(60)
        assert not sender.is_alive(), "the sender is still sending"
        return response, body, sent
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/invoke", "/invoke/stream"])
def test_a_chunked_body_over_the_limit_is_refused_without_being_read(agent, path):
    """A chunked body declares no length: the server must count as it reads and stop at the limit
    (36 KiB here), not read it all first (it read all 50 MB, then answered 413)."""
    logged = agent.log.stat().st_size
    response, body, sent = _offer_chunked(agent, path)
    assert response.status == 413 and json.loads(body)["error"]["code"] == "RequestTooLarge"
    # It closed the connection rather than read (and drop) the rest; the sender was stopped by that.
    assert response.getheader("connection") == "close"
    # What it took beyond the limit waits in kernel buffers (ours above; the server's, which Linux grows
    # only as the reader reads) and is never read: far below what was offered, whatever the machine's speed.
    assert sent < OFFERED_BYTES // 4, f"the server took {sent} of {OFFERED_BYTES} bytes"
    # A client that kept sending after the 413 left the server well: the next requests are answered.
    assert invoke(agent, "still here")[0] == 200
    with open(agent.log, "rb") as log:
        log.seek(logged)
        written = log.read()
    assert b"unhandled error" not in written and b"Exception in ASGI" not in written, written[-3000:]


def test_a_client_that_leaves_mid_body_is_logged_as_gone_not_as_a_failure(agent):
    """Half a chunked body, then the connection closes: the request is the client's 499, not an unhandled
    500 with a stack trace in the agent's log (Starlette raises ClientDisconnect from the body's stream)."""
    logged = agent.log.stat().st_size
    with socket.create_connection(("127.0.0.1", agent.port), timeout=30) as connection:
        head = ["POST /invoke HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
        head += ["Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in bearer("tester").items())]
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'c\r\n{"prompt": "\r\n')
    deadline = time.monotonic() + 30  # ends the test only: the log line is written once the server noticed
    while time.monotonic() < deadline:
        with open(agent.log, "rb") as log:
            log.seek(logged)
            written = log.read()
        lines = [json.loads(line) for line in written.splitlines() if line.startswith(b"{")]
        done = [line for line in lines if line.get("message") == "request" and line.get("path") == "/invoke"]
        if done:
            break
        time.sleep(0.1)
    else:
        pytest.fail("no request line was logged for the abandoned request")
    assert done[0]["status"] == 499
    assert b"unhandled error" not in written and b"Traceback" not in written, written[-3000:]


def test_unknown_routes_and_methods_answer_json(agent):
    assert post(f"{agent.url}/nope", {})[0:3:2] == (
        404,
        {"error": {"code": "NotFound", "message": "no route POST /nope"}},
    )
    request = urllib.request.Request(f"{agent.url}/invoke", method="GET")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 405 and json.loads(error.value.read())["error"]["code"] == "MethodNotAllowed"


def test_a_client_disconnect_cancels_the_work_and_frees_the_session(agent):
    session = invoke(agent, "start")[2]["session_id"]
    connection = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=30)
    # 200 tokens at 500 ms: uncancelled, the answer would hold the session until the request timeout (60 s),
    # twice the deadline below, which only ends the test (not a speed bound: the cancellation is event-driven).
    body = json.dumps({"prompt": "[scenario:slow_tokens;delay_ms=500] " + "word " * 200, "session_id": session})
    connection.request(
        "POST", "/invoke/stream", body=body, headers={"Content-Type": "application/json", **bearer("tester")}
    )
    response = connection.getresponse()
    assert b"event: token" in response.read1(4096)
    connection.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if invoke(agent, "free again?", session)[0] == 200:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the session stayed locked after the client disconnected")
    assert any(record.get("Errors") == [0.0] and record.get("Requests") for record in agent.emf_records())


def test_limits_stop_the_loop(agent_env, tmp_path):
    limited = AgentProcess({**agent_env, "AGENT_MAX_CYCLES": "1"}, tmp_path / "limited.log").start()
    try:
        status, _, body = invoke(limited, "[scenario:tool_call] call a tool")
        assert status == 200 and body["limit_hit"] == "max_cycles=1"
        assert body["usage"]["model_calls"] == 1
    finally:
        limited.stop()


# The fault endpoints' variants serve their own models: a request to them names no inference component
# (dev's would be refused: the emulator answers as SageMaker does).
NO_COMPONENT = {"AGENT_INFERENCE_COMPONENT": ""}


def test_endpoint_throttling_and_outage_answer_429_and_503_with_retry_after(agent_env, tmp_path):
    throttled = AgentProcess(
        {**agent_env, **NO_COMPONENT, "AGENT_ENDPOINT_NAME": "throttled-llm"}, tmp_path / "t.log"
    ).start()
    down = AgentProcess(
        {**agent_env, **NO_COMPONENT, "AGENT_ENDPOINT_NAME": "unreachable-llm"}, tmp_path / "d.log"
    ).start()
    try:
        statuses = [invoke(throttled, "hi")[0] for _ in range(3)]
        assert 429 in statuses
        got, headers, body = invoke(down, "hi")
        assert (got, body["error"]["code"], headers["retry-after"]) == (503, "EndpointUnavailable", "5")
    finally:
        throttled.stop()
        down.stop()


def test_botocore_retries_of_a_throttled_endpoint_are_counted(agent_env, tmp_path):
    # The emulator's token bucket (0.5 request/s) throttles; botocore's adaptive mode retries
    # inside one API call, which Strands never sees: the runtime counts the attempts itself.
    retrying = AgentProcess(
        {**agent_env, **NO_COMPONENT, "AGENT_ENDPOINT_NAME": "throttled-llm", "AGENT_MAX_ATTEMPTS": "5"},
        tmp_path / "retrying.log",
    ).start()
    try:
        answers = [invoke(retrying, "hi") for _ in range(2)]
        # Powertools writes a metric's values as a list ([n]) or a bare number.
        retries = [
            sum(value) if isinstance(value := record["Retries"], list) else value for record in retrying.emf_records()
        ]
        assert len(retries) == 2 and sum(retries) >= 1 and max(retries) <= 4  # 5 attempts at most
        for (status, _, body), counted in zip(answers, retries, strict=True):
            if status == 200:
                assert body["usage"]["retries"] == counted
    finally:
        retrying.stop()


def test_metrics_are_emitted_as_emf_per_request(agent):
    invoke(agent, "measure me")
    record = agent.emf_records()[-1]
    names = {m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {
        "Latency",
        "TimeToFirstToken",
        "InputTokens",
        "OutputTokens",
        "ModelCalls",
        "ToolCalls",
        "Retries",
        "EstimatedCostUSD",
        "TracingFailures",
        "Requests",
        "Errors",
        "Throttled",
    } <= names
    assert record["Environment"] == "dev" and record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "GovernedAgents"
    assert record["InputTokens"][0] > 0 and record["OutputTokens"] == [
        len("You said: measure me".split())
    ]  # EMF values are lists


def test_an_answer_cut_by_max_tokens_is_returned_and_marked(agent_env, tmp_path):
    short = AgentProcess({**agent_env, "AGENT_MAX_TOKENS": "3"}, tmp_path / "short.log").start()
    try:
        status, _, body = invoke(short, "[scenario:echo] a long enough sentence to cut")
        assert status == 200 and body["stop_reason"] == "max_tokens" and body["limit_hit"] == "max_tokens=3"
        assert body["usage"]["output_tokens"] == 3  # counted although Strands gives no result for a cut answer
        assert body["answer"] and invoke(short, "[scenario:echo] next", body["session_id"])[0] == 200
    finally:
        short.stop()
