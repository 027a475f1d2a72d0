"""The OpenAI-compatible chat-completions shapes the LMI container speaks on /invocations.

Shared by the real and the scripted model servers so both answer Strands' SageMakerAIModel the
same way: a `chat.completion` object, or SSE `chat.completion.chunk` events ending with a
usage chunk and `data: [DONE]`. Usage carries only the three counters: Strands builds
`UsageMetadata(**usage)`, which rejects extra keys such as `completion_tokens_details`.
"""

from __future__ import annotations

import json
import time
import uuid


def flatten_content(content) -> str:
    """Content-part lists (what Strands sends) -> one string (what chat templates need)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def last_user_text(messages: list[dict]) -> str:
    return next((flatten_content(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")


def new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}


def tool_call(call_id: str, name: str, arguments: str, index: int = 0) -> dict:
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(model: str, text: str | None, tool_calls: list[dict], finish_reason: str, usage_: dict) -> dict:
    message: dict = {"role": "assistant", "content": text if text else None}
    if tool_calls:
        message["tool_calls"] = [{k: v for k, v in call.items() if k != "index"} for call in tool_calls]
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage_,
    }


class ChunkStream:
    """Builds the SSE events of one streamed completion (bytes, ready to write as HTTP chunks)."""

    def __init__(self, model: str):
        self.id, self.model, self.created = new_id(), model, int(time.time())

    def _event(self, choices: list, **extra) -> bytes:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model, "choices": choices, **extra}
        return b"data: " + json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n\n"

    def delta(self, delta: dict, finish_reason: str | None = None) -> bytes:
        return self._event([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])

    def role(self) -> bytes:
        return self.delta({"role": "assistant", "content": ""})

    def text(self, piece: str) -> bytes:
        return self.delta({"content": piece})

    def tool_call_start(self, call: dict) -> bytes:
        return self.delta({"tool_calls": [{**call, "function": {"name": call["function"]["name"], "arguments": ""}}]})

    def tool_call_arguments(self, index: int, piece: str) -> bytes:
        return self.delta({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})

    def finish(self, reason: str) -> bytes:
        return self.delta({}, reason)

    def usage(self, usage_: dict) -> bytes:
        return self._event([], usage=usage_)

    @staticmethod
    def done() -> bytes:
        return b"data: [DONE]\n\n"
