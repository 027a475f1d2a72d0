"""Stream parsing: the endpoint container's JSON lines (LMI, vLLM async mode) and SSE out of
PayloadPart bytes that do not align with lines; vLLM's error line in a 200 stream."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from loadtest.records import ERROR, OK, THROTTLED
from loadtest.targets import (
    ENDPOINT_SYSTEM_PROMPT,
    EndpointTarget,
    SseEvents,
    SseJsonLines,
    classify_client_error,
    stream_failure,
)
from local_runtime import scenarios
from local_runtime.endpoints import LocalEndpoint, LocalVariant
from tests.local_runtime.support import start_emulator, start_server
from tools import bench_runtime

CHUNKS = [{"choices": [{"delta": {"content": word}}]} for word in ("Reset", " your", " password")]
USAGE = {"choices": [], "usage": {"completion_tokens": 3}}
# What an OpenAI-compatible server (vLLM's own) sends, and what the LMI container makes of it: the
# `data: ` prefix stripped, `[DONE]` turned into an empty last line (sources in local_runtime/openai_chat.py).
STREAM = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in [*CHUNKS, USAGE]) + b"data: [DONE]\n\n"
LMI_STREAM = b"".join(json.dumps(c).encode() + b"\n" for c in [*CHUNKS, USAGE]) + b"\n"


@pytest.mark.parametrize("stream", [LMI_STREAM, STREAM], ids=["lmi-json-lines", "sse"])
def test_events_split_at_every_byte_come_out_whole(stream):
    lines = SseJsonLines()
    events = [event for byte in range(len(stream)) for event in lines.feed(stream[byte : byte + 1])] + lines.close()
    assert events == [*CHUNKS, USAGE] and lines.malformed == 0


def test_an_sse_only_reader_finds_nothing_in_the_containers_stream():
    # The rejecting direction: reading only `data: ` lines (what tools/bench_runtime.py did) gets no
    # chunk, and so no usage, out of what LMI sends; the line parser gets all of them.
    assert [line for line in LMI_STREAM.split(b"\n") if line.startswith(b"data: ")] == []
    assert (
        bench_runtime.stream_timings(
            [{"PayloadPart": {"Bytes": LMI_STREAM[:7]}}, {"PayloadPart": {"Bytes": LMI_STREAM[7:]}}]
        )[2]
        == USAGE["usage"]
    )


def test_several_events_in_one_part_and_one_event_across_parts():
    lines = SseJsonLines()
    cut = STREAM.index(b"your") + 2  # inside the second event's JSON
    first, second = lines.feed(STREAM[:cut]), lines.feed(STREAM[cut:])
    assert first == CHUNKS[:1] and second[:2] == CHUNKS[1:]


def test_bare_json_lines_a_final_line_without_newline_and_malformed_lines():
    lines = SseJsonLines()
    events = lines.feed(b'{"a": 1}\n: comment\nevent: x\ndata: {not json\n\n{"b"')
    assert events == [{"a": 1}] and lines.malformed == 1
    assert lines.feed(b": 2}") == [] and lines.close() == [{"b": 2}]


def test_a_bare_malformed_line_does_not_hold_up_the_lines_after_it():
    lines = SseJsonLines()
    assert lines.feed(b"{not json\n" + LMI_STREAM) == [*CHUNKS, USAGE] and lines.malformed == 1


def test_error_lines_in_a_stream_are_failures_and_chunks_are_not():
    vllm = {"error": {"message": "Internal server error", "type": "InternalServerError", "param": None, "code": 500}}
    assert stream_failure(vllm) == "StreamError: 500: Internal server error"
    assert stream_failure({"code": 424, "error": "boom"}) == "StreamError: 424: boom"  # LMI's own, from its formatter
    assert stream_failure(CHUNKS[0]) is None and stream_failure(USAGE) is None


def test_named_sse_events_across_parts():
    stream = b'event: token\ndata: {"text": "Hi"}\n\nevent: final\ndata: {"usage": {"output_tokens": 1}}\n\n'
    parser = SseEvents()
    events = parser.feed(stream[:20]) + parser.feed(stream[20:41]) + parser.feed(stream[41:])
    assert events == [("token", {"text": "Hi"}), ("final", {"usage": {"output_tokens": 1}})]


def _client_error(code: str, **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, **extra}, "InvokeEndpointWithResponseStream")


def test_throttles_are_told_apart_from_errors():
    assert classify_client_error(_client_error("ThrottlingException"))[0] == THROTTLED
    assert classify_client_error(_client_error("ModelError", OriginalStatusCode=429))[0] == THROTTLED
    assert classify_client_error(_client_error("ModelError", OriginalStatusCode=500))[0] == ERROR
    assert classify_client_error(_client_error("ValidationError"))[0] == ERROR


@pytest.fixture(scope="module")
def local_endpoint(tmp_path_factory):
    """The scripted model (test double) behind the emulator: answers 'You said: <prompt>'."""
    model = start_server("scripted model (test double)", "local_runtime.model_servers.scripted")
    emulator = start_emulator(
        [LocalEndpoint("load", (LocalVariant("AllTraffic", model.url),))], tmp_path_factory.mktemp("emulator")
    )
    yield emulator
    emulator.child.stop()
    model.child.stop()


def test_the_endpoint_target_asks_for_usage_and_takes_the_servers_token_counts(local_endpoint):
    # Without stream_options.include_usage the server sends no usage chunk (as vLLM/LMI): input
    # tokens would be unknown and output tokens guessed from chunks.
    target = EndpointTarget("load", "us-east-1", max_tokens=48, endpoint_url=local_endpoint.url, local_credentials=True)
    reply = target.send([], "reset my password", "session-1")
    assert reply.result.status == OK and reply.text == "You said: reset my password"
    prompt_tokens = len(scenarios.tokens(ENDPOINT_SYSTEM_PROMPT)) + len(scenarios.tokens("reset my password"))
    assert reply.result.input_tokens == prompt_tokens and reply.result.output_tokens == 5


def test_a_failure_mid_stream_is_an_error_not_a_short_success(local_endpoint):
    # vLLM's error line arrives in a 200 stream after two tokens; without looking for it the request
    # would count as a success with a truncated answer (Strands' provider does not look).
    target = EndpointTarget(
        "load",
        "us-east-1",
        max_tokens=48,
        endpoint_url=local_endpoint.url,
        local_credentials=True,
        custom_attributes="scenario=stream_error;after_tokens=2",
    )
    reply = target.send([], "reset my password", "session-1")
    assert reply.result.status == ERROR and reply.result.error == "StreamError: 500: Internal server error"
    assert reply.result.ttft_s is not None  # the tokens before the failure were still timed
