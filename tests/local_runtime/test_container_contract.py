"""The SageMaker container contract of each model server: GET /ping within 2 s, POST /invocations,
the port given, unknown paths 404, and a clean exit 0 on SIGTERM; and the answers framed as the
endpoint's container (LMI in vLLM async mode) frames them: a whole answer as `application/json`,
a stream as `application/jsonlines` (bare JSON lines, no `data: `, no `[DONE]`), errors as LMI's
`{"code", "error"}` (sources in local_runtime/openai_chat.py)."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time

import pytest

from tests.local_runtime.support import chat, sse_events, start_server, stream_chunks


def _request(
    url: str,
    method: str,
    path: str,
    body: str | None = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, float, str]:
    """(status, body, seconds, Content-Type)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    started = time.monotonic()
    connection.request(
        method, path, body=body, headers={**({"Content-Type": "application/json"} if body else {}), **(headers or {})}
    )
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data, time.monotonic() - started, response.getheader("Content-Type") or ""


@pytest.fixture(scope="module")
def proxy_model(scripted_model):
    """The proxy server in front of the scripted double's OpenAI-compatible route."""
    server = start_server(
        "proxy model server",
        "local_runtime.model_servers.proxy",
        "--base-url",
        f"{scripted_model.url}/v1",
        "--model",
        "scripted",
    )
    yield server
    server.child.stop()


@pytest.fixture(
    params=[
        pytest.param("scripted_model", marks=pytest.mark.local_stack),
        pytest.param("proxy_model", marks=pytest.mark.local_stack),
        pytest.param("real_model", marks=pytest.mark.real_model),
    ]
)
def model_server(request):
    return request.getfixturevalue(request.param)


def test_ping_answers_200_within_two_seconds(model_server):
    status, _, elapsed, _ = _request(model_server.url, "GET", "/ping")
    assert status == 200 and elapsed < 2.0


def test_invocations_answers_chat_completions_as_lmi_writes_them(model_server):
    status, data, _, content_type = _request(
        model_server.url, "POST", "/invocations", chat("Say hi", max_tokens=8, temperature=0)
    )
    assert (
        status == 200 and content_type == "application/json" and data.endswith(b"}\n")
    )  # create_non_stream_output adds the newline
    body = json.loads(data)
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    # vLLM dumps a whole response without exclusions: the unset prompt_tokens_details comes as null.
    assert body["usage"].keys() == {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"}
    assert body["usage"]["prompt_tokens_details"] is None


def test_streamed_invocations_are_lmis_json_lines_ending_with_vllms_usage_chunk(model_server):
    body = chat("Say hi", stream=True, max_tokens=8, temperature=0, stream_options={"include_usage": True})
    status, data, _, content_type = _request(model_server.url, "POST", "/invocations", body)
    assert status == 200 and content_type == "application/jsonlines"
    assert b"data:" not in data and b"[DONE]" not in data  # LMI strips vLLM's SSE framing
    chunks = stream_chunks(data)
    final = chunks[-1]  # vLLM's final usage chunk: no choices, the three counters
    assert set(final) == {"id", "object", "created", "model", "choices", "usage"} and final["choices"] == []
    assert (
        set(final["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
        and final["usage"]["completion_tokens"] >= 1
    )
    assert all("usage" not in c for c in chunks[:-1])  # only the final chunk (no continuous_usage_stats asked)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-2]["choices"][0]["finish_reason"] and "stop_reason" in chunks[-2]["choices"][0]


@pytest.mark.parametrize("stream_options", [None, {"include_usage": False}])
def test_streamed_invocations_not_asking_for_usage_carry_none(model_server, stream_options):
    # As vLLM/LMI: a client that does not ask gets no token counts (the proxy must not ask for it).
    extra = {} if stream_options is None else {"stream_options": stream_options}
    status, data, _, _ = _request(
        model_server.url, "POST", "/invocations", chat("Say hi", stream=True, max_tokens=8, temperature=0, **extra)
    )
    chunks = stream_chunks(data)
    assert status == 200 and len(chunks) > 1
    assert all(c["choices"] and "usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"]


def test_stream_options_without_stream_are_refused_as_lmi_refuses_them(model_server):
    status, data, _, _ = _request(
        model_server.url, "POST", "/invocations", chat("Say hi", max_tokens=8, stream_options={"include_usage": True})
    )
    body = json.loads(data)
    assert status == 424 and set(body) == {"code", "error"} and body["code"] == 424
    assert (
        body["error"].startswith("Input parsing failed: ")
        and "Stream options can only be defined when `stream=True`." in body["error"]
    )
    # An empty stream_options is falsy to vLLM's check: answered, with the usage a whole answer always has.
    status, data, _, _ = _request(
        model_server.url, "POST", "/invocations", chat("Say hi", max_tokens=8, stream_options={})
    )
    assert status == 200 and "usage" in json.loads(data)


def test_unreadable_bodies_are_lmis_424_and_unknown_paths_404(model_server):
    for body in ("{not json", '{"no": "messages"}'):
        status, data, _, content_type = _request(model_server.url, "POST", "/invocations", body)
        refusal = json.loads(data)
        assert status == 424 and content_type == "application/json" and set(refusal) == {"code", "error"}
        assert refusal["code"] == 424 and refusal["error"].startswith("Input parsing failed: ")
    assert _request(model_server.url, "GET", "/nothing-here")[0] == 404


def test_the_proxys_upstream_speaks_sse_so_the_proxy_really_reframes(scripted_model):
    # The scripted double's OpenAI pose answers as vLLM's own server: SSE ending with [DONE]. The
    # proxy's JSON lines above therefore come from its re-framing, not from a pass-through.
    status, data, _, content_type = _request(
        scripted_model.url, "POST", "/v1/chat/completions", chat("Say hi", stream=True)
    )
    assert status == 200 and content_type == "text/event-stream" and sse_events(data)[-1] == "[DONE]"
    with pytest.raises(ValueError):
        stream_chunks(data)  # the contract's parser refuses SSE: the JSON-lines checks above can fail


VLLM_ERROR = {"error": {"message": "Internal server error", "type": "InternalServerError", "param": None, "code": 500}}


def _stream_error(scripted_model, params: str = "") -> tuple[int, bytes, str]:
    """(status, body, Content-Type) of a `stream_error` stream failing after two tokens ("You", " said:")."""
    status, data, _, content_type = _request(
        scripted_model.url,
        "POST",
        "/invocations",
        chat("a b c d e", stream=True),
        headers={"X-Amzn-SageMaker-Custom-Attributes": f"scenario=stream_error;after_tokens=2{params}"},
    )
    return status, data, content_type


def test_a_failure_mid_stream_is_vllms_error_line_in_a_200_stream(scripted_model):
    status, data, content_type = _stream_error(scripted_model)
    chunks = stream_chunks(data)
    assert status == 200 and content_type == "application/jsonlines"
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["You", " said:"]
    assert chunks[-1] == VLLM_ERROR


def test_a_failure_mid_stream_can_be_lmis_own_error_object_ending_the_stream(scripted_model):
    # LMI's frontend writes {"code", "error"} in place of the chunk when its Python side reports an error
    # with a code mid-stream (rolling batch: 424), with no newline; the status went out with the first chunk.
    status, data, content_type = _stream_error(scripted_model, ";error=lmi")
    assert status == 200 and content_type == "application/jsonlines"
    *lines, last = data.split(b"\n")
    assert [json.loads(line)["choices"][0]["delta"].get("content") for line in lines[1:]] == ["You", " said:"]
    assert last == b'{"code":424,"error":"exception occurred during rolling batch inference"}'


def test_framing_sse_streams_on_invocations_as_vllms_own_server(scripted_model):
    # What an endpoint serving vLLM's own image sends: SSE `data:` lines, the error line, then [DONE].
    status, data, content_type = _stream_error(scripted_model, ";framing=sse")
    events = sse_events(data)
    assert status == 200 and content_type == "text/event-stream"
    assert [e["choices"][0]["delta"].get("content") for e in events[1:3]] == ["You", " said:"]
    assert events[3:] == [VLLM_ERROR, "[DONE]"]


def test_a_prompt_marker_picks_the_scenario_and_its_parameters(scripted_model):
    # How the agent, which sends only prompts, picks a scenario: `[scenario:NAME;key=value]`.
    status, data, _, _ = _request(
        scripted_model.url, "POST", "/invocations", chat("[scenario:stream_error;after_tokens=1] a b", stream=True)
    )
    _role, token, error = stream_chunks(data)
    assert status == 200 and token["choices"][0]["delta"] == {"content": "You"} and set(error) == {"error"}
    status, data, _, _ = _request(scripted_model.url, "POST", "/invocations", chat("[scenario:echo;delay_ms=1] hi"))
    assert json.loads(data)["choices"][0]["message"]["content"] == "You said: hi"  # the whole marker is cut
    refused = _request(scripted_model.url, "POST", "/invocations", chat("[scenario:echo;framing=xml] x", stream=True))
    assert refused[0] == 400 and b"unknown framing 'xml'" in refused[1]


def test_the_contract_parser_rejects_sse_and_accepts_lmis_framing():
    chunk = b'{"choices": []}'
    assert stream_chunks(chunk + b"\n" + chunk + b"\n\n") == [{"choices": []}, {"choices": []}]
    for wrong in (
        b"data: " + chunk + b"\n\ndata: [DONE]\n\n",  # vLLM's own SSE
        chunk + b"\n\n" + chunk + b"\n\n",  # JSON with SSE's blank lines between
        chunk + b"\n",
    ):  # no empty last line
        with pytest.raises(ValueError):
            stream_chunks(wrong)


def test_ping_stays_fast_while_a_slow_generation_runs(scripted_model):
    done = threading.Event()

    import urllib.request

    def slow_call():
        request = urllib.request.Request(
            f"{scripted_model.url}/invocations",
            data=chat("a b c d", stream=True).encode(),
            headers={"X-Amzn-SageMaker-Custom-Attributes": "scenario=slow_tokens;delay_ms=300"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        done.set()

    threading.Thread(target=slow_call, daemon=True).start()
    time.sleep(0.3)
    status, _, elapsed, _ = _request(scripted_model.url, "GET", "/ping")
    assert status == 200 and elapsed < 0.5 and not done.is_set()
    assert done.wait(10)


@pytest.mark.parametrize(
    "module,args",
    [
        pytest.param("local_runtime.model_servers.scripted", (), marks=pytest.mark.local_stack),
        pytest.param(
            "local_runtime.model_servers.llama", ("--n-ctx", "512", "--threads", "1"), marks=pytest.mark.real_model
        ),
    ],
)
def test_sigterm_exits_cleanly(module, args):
    server = start_server(module, module, *args, ready_timeout=90)
    process = server.child.process
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def test_a_port_in_use_is_named_in_the_error(scripted_model):
    import subprocess
    import sys

    port = scripted_model.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "local_runtime.model_servers.scripted", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and f"port {port}" in result.stderr and "already in use" in result.stderr


def test_a_failure_without_a_stream_is_lmis_500_around_vllms_error_object(scripted_model):
    # vLLM answers with ErrorResponse(error=ErrorInfo(...)); LMI's formatter looks for `message` and
    # `code` attributes it no longer has, so it sends 500 and the object's str() (request_response_utils.py).
    status, data, _, content_type = _request(
        scripted_model.url,
        "POST",
        "/invocations",
        chat("a b c"),
        headers={"X-Amzn-SageMaker-Custom-Attributes": "scenario=stream_error"},
    )
    assert status == 500 and content_type == "application/json"
    assert json.loads(data) == {
        "code": 500,
        "error": "error=ErrorInfo(message='Internal server error', type='InternalServerError', param=None, code=500)",
    }
