"""The event-stream encoder, checked with botocore's own parser (CRCs, headers, modeled errors)."""

from __future__ import annotations

import io
import itertools
import json
import struct

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.parsers import EventStreamJSONParser
from strands.models.sagemaker import _parse_event_stream

from local_runtime import event_stream


def _stream_of(frames: bytes, read_size: int = 7) -> EventStream:
    """botocore's EventStream for InvokeEndpointWithResponseStream, fed raw bytes."""
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    shape = model.operation_model("InvokeEndpointWithResponseStream").output_shape.members["Body"]

    class _Raw:
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def stream(self):
            while chunk := self.data.read(read_size):  # odd-sized reads: frames straddle reads
                yield chunk

        def close(self):
            pass

    return EventStream(_Raw(frames), shape, EventStreamJSONParser(), "InvokeEndpointWithResponseStream")


def test_payload_part_decodes_with_valid_crcs_and_headers():
    frame = event_stream.payload_part(b'data: {"a": 1}\n\n')
    buffer = EventStreamBuffer()
    buffer.add_data(frame)
    [message] = list(buffer)
    assert message.headers == {
        ":event-type": "PayloadPart",
        ":content-type": "application/octet-stream",
        ":message-type": "event",
    }
    assert message.payload == b'data: {"a": 1}\n\n'
    total, headers_length = struct.unpack(">II", frame[:8])
    assert total == len(frame) and headers_length == len(frame) - 16 - len(message.payload)


@pytest.mark.parametrize("offset", [5, 20])  # a prelude byte, a header byte
def test_corrupted_frame_fails_botocores_crc_check(offset):
    frame = bytearray(event_stream.payload_part(b"hello"))
    frame[offset] ^= 0xFF
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(frame))
    with pytest.raises(ChecksumMismatch):
        list(buffer)


def test_empty_and_large_parts_round_trip():
    big = bytes(range(256)) * 4096  # 1 MiB of every byte value
    events = list(_stream_of(event_stream.payload_part(b"") + event_stream.payload_part(big), read_size=4099))
    assert [event["PayloadPart"]["Bytes"] for event in events] == [b"", big]


def test_model_stream_error_surfaces_as_botocores_event_stream_error():
    frames = event_stream.payload_part(b"data: {}\n\n") + event_stream.stream_exception(
        "ModelStreamError", "connection reset", event_stream.STREAM_BROKEN
    )
    stream = iter(_stream_of(frames))
    assert next(stream) == {"PayloadPart": {"Bytes": b"data: {}\n\n"}}
    with pytest.raises(EventStreamError) as caught:
        next(stream)
    assert caught.value.response["Error"] == {"Code": "ModelStreamError", "Message": "connection reset"}
    buffer = EventStreamBuffer()  # botocore drops ErrorCode when parsing; the frame carries it
    buffer.add_data(event_stream.stream_exception("ModelStreamError", "m", event_stream.STREAM_BROKEN))
    assert json.loads(next(iter(buffer)).payload) == {"Message": "m", "ErrorCode": "StreamBroken"}


def test_internal_stream_failure_is_modeled_too():
    with pytest.raises(EventStreamError) as caught:
        list(_stream_of(event_stream.stream_exception("InternalStreamFailure", "boom")))
    assert caught.value.response["Error"]["Code"] == "InternalStreamFailure"


def test_parts_that_split_sse_events_reassemble_in_strands_parser():
    events = [{"choices": [{"delta": {"content": word}, "finish_reason": None}]} for word in ("Hello", " wor", "ld")]
    sse = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
    cuts = [0, 3, 17, 40, 41, 90, len(sse)]  # mid-prefix, mid-JSON, between the two newlines
    frames = b"".join(event_stream.payload_part(sse[a:b]) for a, b in itertools.pairwise(cuts))
    parts = list(_stream_of(frames))
    assert len(parts) == len(cuts) - 1
    assert not all(part["PayloadPart"]["Bytes"].endswith(b"\n\n") for part in parts)
    assert list(_parse_event_stream(parts)) == events


def test_parts_that_split_lmis_json_lines_reassemble_in_strands_parser():
    # The endpoint's container (LMI, vLLM async mode) streams bare JSON lines and ends with an empty line.
    events = [{"choices": [{"delta": {"content": word}, "finish_reason": None}]} for word in ("Hello", " wor", "ld")]
    body = b"".join(json.dumps(event).encode() + b"\n" for event in events) + b"\n"
    cuts = [0, 5, 30, 61, 62, 100, len(body) - 1, len(body)]  # mid-JSON, at a newline, the last empty line alone
    parts = list(_stream_of(b"".join(event_stream.payload_part(body[a:b]) for a, b in itertools.pairwise(cuts))))
    assert len(parts) == len(cuts) - 1
    assert list(_parse_event_stream(parts)) == events


def test_strands_parser_loses_the_rest_of_a_json_lines_stream_after_a_bare_non_json_line():
    # Why the scripted model's malformed_event line keeps a `data:` prefix (scripted.MALFORMED_LINE):
    # a `data:` line that is not JSON is skipped, but a bare one makes Strands wait for a multi-line
    # JSON document, and every chunk after it is lost. LMI never sends a line that is not JSON.
    good = b'{"choices": [{"delta": {"content": "after"}}]}\n'
    assert list(_parse_event_stream([{"PayloadPart": {"Bytes": b"data: {not json\n" + good}}])) == [json.loads(good)]
    assert list(_parse_event_stream([{"PayloadPart": {"Bytes": b"{not json\n" + good}}])) == []
