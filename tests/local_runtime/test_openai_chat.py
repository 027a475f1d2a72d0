"""The two stream framings and the proxy's re-framing of an OpenAI server's SSE into LMI's JSON lines."""

from __future__ import annotations

import json

import pytest

from local_runtime.openai_chat import JSON_LINES, SSE, ChunkStream, SseToJsonLines
from tests.local_runtime.support import sse_events, stream_chunks

CHUNKS = [{"choices": [{"delta": {"content": word}}]} for word in ("Reset", " your", " password")]


def _sse(chunks) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def _lmi(chunks) -> bytes:
    return b"".join(json.dumps(c).encode() + b"\n" for c in chunks) + b"\n"


def test_sse_cut_at_every_byte_comes_out_as_lmis_json_lines():
    reframe = SseToJsonLines()
    source = b": keep-alive\r\n\r\n" + _sse(CHUNKS).replace(b"\n", b"\r\n")  # a comment, CRLF line ends
    out = b"".join(reframe.feed(source[i : i + 1]) for i in range(len(source))) + reframe.close()
    assert out == _lmi(CHUNKS) and stream_chunks(out) == CHUNKS


def test_an_upstream_ending_without_done_still_ends_as_lmi_ends_and_nothing_follows_done():
    reframe = SseToJsonLines()
    assert reframe.feed(b'data: {"a": 1}\n\ndata: {"b"') == b'{"a": 1}\n'
    assert reframe.close() == b'{"b"\n\n'  # the unterminated line, then the empty last line
    after_done = SseToJsonLines()
    assert after_done.feed(b"data: [DONE]\n\ndata: {}\n\n") + after_done.close() == b"\n"


def test_chunk_streams_frame_the_same_chunks_both_ways():
    chunks = {framing: ChunkStream("m", framing) for framing in (JSON_LINES, SSE)}
    lmi = b"".join([chunks[JSON_LINES].text("hi"), chunks[JSON_LINES].done()])
    sse = b"".join([chunks[SSE].text("hi"), chunks[SSE].done()])
    assert stream_chunks(lmi)[0]["choices"][0]["delta"] == {"content": "hi"}
    assert sse_events(sse)[0]["choices"][0]["delta"] == {"content": "hi"} and sse_events(sse)[-1] == "[DONE]"
    assert (
        chunks[JSON_LINES].content_type == "application/jsonlines" and chunks[SSE].content_type == "text/event-stream"
    )
    with pytest.raises(ValueError):
        ChunkStream("m", "application/json")


def test_tool_call_deltas_are_vllms():
    stream = ChunkStream("m")
    call = {
        "index": 0,
        "id": "chatcmpl-tool-1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"a": 1}'},
    }
    (start,) = stream_chunks(stream.tool_call_start(call) + b"\n")[0]["choices"][0]["delta"]["tool_calls"]
    assert start == {"index": 0, "type": "function", "id": "chatcmpl-tool-1", "function": {"name": "lookup"}}
    (piece,) = stream_chunks(stream.tool_call_arguments(0, '{"a"') + b"\n")[0]["choices"][0]["delta"]["tool_calls"]
    assert piece == {"index": 0, "function": {"arguments": '{"a"'}}
