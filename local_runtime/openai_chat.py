"""The OpenAI-compatible chat-completions shapes the LMI container speaks on /invocations.

Shared by the real and the scripted model servers so both answer Strands' SageMakerAIModel the
same way: a `chat.completion` object (always with `usage`), or SSE `chat.completion.chunk` events
ending with `data: [DONE]`. A streamed completion carries a usage chunk (`choices: []`, `usage`)
only when the request asks with `stream_options: {"include_usage": true}`, as vLLM does; a client
that does not ask gets no token counts. Usage carries the three counters vLLM sends with the kit's
LMI settings: `prompt_tokens_details` only comes with `--enable-prompt-tokens-details`,
`completion_tokens_details` only with a reasoning parser (Strands' `UsageMetadata(**usage)` would
reject the latter).

vLLM: vllm/entrypoints/openai/chat_completion/serving.py (`chat_completion_stream_generator`,
final usage chunk) and vllm/entrypoints/serve/utils/api_utils.py (`should_include_usage`),
https://github.com/vllm-project/vllm
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


# vLLM's ChatCompletionRequest validator (`validate_stream_options`), which LMI applies to every
# chat request: vllm/entrypoints/openai/chat_completion/protocol.py, https://github.com/vllm-project/vllm
STREAM_OPTIONS_WITHOUT_STREAM = "Stream options can only be defined when `stream=True`."


def stream_options_problem(request: dict) -> str | None:
    """Why the request's `stream_options` would be refused, or None. As vLLM: a non-empty
    `stream_options` needs `stream: true` (an empty or null one passes)."""
    options = request.get("stream_options")
    if options and not request.get("stream"):
        return STREAM_OPTIONS_WITHOUT_STREAM
    if options is not None and not isinstance(options, dict):
        return "stream_options must be an object"
    return None


def wants_usage(request: dict) -> bool:
    """Whether a streamed completion ends with a usage chunk: only when asked. vLLM's
    `should_include_usage`: `stream_options` given and its `include_usage` (default true) set."""
    options = request.get("stream_options")
    return bool(request.get("stream")) and isinstance(options, dict) and bool(options.get("include_usage", True))


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
