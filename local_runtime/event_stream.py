"""AWS event-stream encoding (`application/vnd.amazon.eventstream`), as InvokeEndpointWithResponseStream sends it.

A message is: prelude (total length u32, headers length u32), prelude CRC32, headers, payload,
message CRC32 (over everything before it). All integers big-endian. Each header is
name length u8, name, value type u8 (7 = string), value length u16, value.
"""

from __future__ import annotations

import json
import struct
import zlib

_STRING = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    raw_headers = _headers(headers)
    prelude = _PRELUDE.pack(16 + len(raw_headers) + len(payload), len(raw_headers))
    head = prelude + _CRC.pack(zlib.crc32(prelude)) + raw_headers + payload
    return head + _CRC.pack(zlib.crc32(head))


# Headers are constant per event type; encode them once (this runs per streamed token).
_PAYLOAD_PART_HEADERS = _headers(
    {":event-type": "PayloadPart", ":content-type": "application/octet-stream", ":message-type": "event"}
)


def payload_part(data: bytes) -> bytes:
    """One `PayloadPart` event carrying raw model bytes (its `Bytes` member is the event payload)."""
    prelude = _PRELUDE.pack(16 + len(_PAYLOAD_PART_HEADERS) + len(data), len(_PAYLOAD_PART_HEADERS))
    head = prelude + _CRC.pack(zlib.crc32(prelude)) + _PAYLOAD_PART_HEADERS + data
    return head + _CRC.pack(zlib.crc32(head))


def stream_exception(exception_type: str, message: str, error_code: str | None = None) -> bytes:
    """A modeled in-stream exception: `ModelStreamError` (with ErrorCode) or `InternalStreamFailure`."""
    body = {"Message": message}
    if error_code:
        body["ErrorCode"] = error_code
    return encode_message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        json.dumps(body).encode("utf-8"),
    )


# The two ModelStreamError codes the service model documents.
STREAM_BROKEN = "StreamBroken"
INVOCATION_TIME_EXCEEDED = "ModelInvocationTimeExceeded"
