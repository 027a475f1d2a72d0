"""Small helpers for the local runtime tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json


def chat(text: str, stream: bool = False, **extra) -> str:
    return json.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}], "stream": stream, **extra})


def sse_events(raw: bytes) -> list:
    """Decoded `data:` events of an SSE body ('[DONE]' kept as a string)."""
    events = []
    for line in raw.decode("utf-8").split("\n"):
        if line.startswith("data: "):
            payload = line[len("data: "):]
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events
