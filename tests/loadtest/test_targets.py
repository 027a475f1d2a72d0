"""Stream parsing: SSE/JSON lines out of PayloadPart bytes that do not align with events."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from loadtest.records import ERROR, THROTTLED
from loadtest.targets import SseEvents, SseJsonLines, classify_client_error

CHUNKS = [{"choices": [{"delta": {"content": word}}]} for word in ("Reset", " your", " password")]
STREAM = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in CHUNKS) + b'data: {"choices":[],"usage":{"completion_tokens":3}}\n\ndata: [DONE]\n\n'


def test_events_split_at_every_byte_come_out_whole():
    lines = SseJsonLines()
    events = [event for byte in range(len(STREAM)) for event in lines.feed(STREAM[byte:byte + 1])]
    assert events[:3] == CHUNKS and events[3]["usage"] == {"completion_tokens": 3} and len(events) == 4


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
