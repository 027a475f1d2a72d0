"""The OpenAI-compatible chat-completions shapes the LMI container speaks on /invocations.

Shared by the real and the scripted model servers so both answer Strands' SageMakerAIModel the
way the endpoint's container does (LMI in vLLM async mode, `djl_python.lmi_vllm.vllm_async_service`):

- a whole answer: vLLM's `chat.completion` object, Content-Type `application/json`, the body ending
  with a newline; its `usage` has the three counters and `prompt_tokens_details: null`;
- a stream: Content-Type `application/jsonlines`, one vLLM `chat.completion.chunk` per line
  (`{...}\n`, no `data: ` prefix, no blank line between chunks), and where vLLM sends
  `data: [DONE]` a last chunk holding only `\n`. No `[DONE]` is ever sent.
  A failure after the stream started is vLLM's error line `{"error": {"message", "type", "param",
  "code"}}` in the same framing, and the stream then ends as usual, still HTTP 200.

Sources (djl-serving, branch 0.36.0-lmi27-dlc, commit 7e13b081383bd46293d4b49ab214d4757b1effd5,
https://github.com/deepjavalibrary/djl-serving): engines/python/setup/djl_python/lmi_vllm/
request_response_utils.py (`vllm_stream_output_formatter` strips `data: ` and turns `[DONE]` into an
empty last chunk), engines/python/setup/djl_python/async_utils.py (`create_stream_chunk_output`:
data + "\n", `application/jsonlines`; `create_non_stream_output`: `application/json`), and the
frontend, engines/python/src/main/java/ai/djl/python/engine/Request.java and
serving/src/main/java/ai/djl/serving/http/InferenceRequestHandler.java (each chunk written as it
comes, the Content-Type taken from the Python output's properties, the client's Accept unused).
SageMaker hands that Content-Type back as `X-Amzn-SageMaker-Content-Type`.

A streamed completion carries a usage chunk (`choices: []`, `usage`) only when the request asks
with `stream_options: {"include_usage": true}`, as vLLM does; a client that does not ask gets no
token counts. Usage carries the three counters vLLM sends with the kit's LMI settings:
`prompt_tokens_details` only comes with `--enable-prompt-tokens-details` (and as `null` in a whole
answer), `completion_tokens_details` only with a reasoning parser (Strands' `UsageMetadata(**usage)`
would reject the latter).

vLLM: vllm/entrypoints/openai/chat_completion/serving.py (`chat_completion_stream_generator`: chunks
dumped with `exclude_unset`, the final usage chunk, the error line, `data: [DONE]`),
vllm/entrypoints/openai/engine/protocol.py (`ErrorResponse`, `UsageInfo`), the Hermes tool parser
(the first tool-call delta carries id, type and name, later ones only argument pieces),
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
        # as pydantic words a validator's ValueError (LMI puts str(error) after "Input parsing failed: ")
        return f"1 validation error for ChatCompletionRequest\n  Value error, {STREAM_OPTIONS_WITHOUT_STREAM}"
    if options is not None and not isinstance(options, dict):
        return "stream_options must be an object"
    return None


def wants_usage(request: dict) -> bool:
    """Whether a streamed completion ends with a usage chunk: only when asked. vLLM's
    `should_include_usage`: `stream_options` given and its `include_usage` (default true) set."""
    options = request.get("stream_options")
    return bool(request.get("stream")) and isinstance(options, dict) and bool(options.get("include_usage", True))


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    """The usage of a streamed answer's final chunk (vLLM dumps it with `exclude_none`)."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def whole_usage(usage_: dict) -> dict:
    """The usage of a whole answer: vLLM dumps the response without excluding anything, so the
    unset `prompt_tokens_details` comes as null."""
    return {**usage_, "prompt_tokens_details": None}


def tool_call(call_id: str, name: str, arguments: str, index: int = 0) -> dict:
    return {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(model: str, text: str | None, tool_calls: list[dict], finish_reason: str, usage_: dict) -> dict:
    message: dict = {
        "role": "assistant",
        "content": text if text else None,
        "tool_calls": [{k: v for k, v in call.items() if k != "index"} for call in tool_calls],
    }
    return {
        "id": new_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason, "stop_reason": None}
        ],
        "usage": whole_usage(usage_),
    }


def whole_body(answer: dict) -> bytes:
    """A whole answer's body as LMI writes it: the JSON and a newline (`create_non_stream_output`)."""
    return json.dumps(answer).encode("utf-8") + b"\n"


# The two framings of a streamed completion. The container (LMI, async mode) sends JSON lines; an
# OpenAI-compatible server (vLLM's own, llama.cpp, Ollama) sends SSE, which the proxy re-frames.
JSON_LINES = "application/jsonlines"
SSE = "text/event-stream"


def stream_error(message: str, kind: str = "InternalServerError", code: int = 500) -> dict:
    """vLLM's streamed error (`create_streaming_error_response`): what a failure after the first
    chunk looks like; LMI passes it on as one more line."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# What LMI's rolling-batch engines report for every request in flight when generation fails
# (`stop_on_any_exception`, djl-serving engines/python/setup/djl_python/rolling_batch/rolling_batch.py).
LMI_ROLLING_BATCH_ERROR = "exception occurred during rolling batch inference"


def lmi_stream_error(message: str = LMI_ROLLING_BATCH_ERROR, code: int = 424) -> bytes:
    """LMI's own report of a failure after the stream started: when the Python side hands its
    frontend an output with an error code mid-stream (the rolling-batch engines, code 424; async
    mode's `handle_streaming_response` when a formatter fails, code 424), the frontend writes
    `{"code": ..., "error": ...}` (Gson, compact) in place of the chunk, as the stream's last bytes,
    with no newline and no SSE framing; the HTTP status was sent with the first chunk, so it stays
    200. Source (djl-serving, the branch and commit above): engines/python/src/main/java/ai/djl/python/
    engine/Request.java (`addResponse`), engines/python/setup/djl_python/async_utils.py."""
    return json.dumps({"code": code, "error": message}, separators=(",", ":")).encode("utf-8")


class ChunkStream:
    """Builds the chunks of one streamed completion (bytes, ready to write as HTTP chunks), framed
    as the LMI container frames them (JSON lines, the default) or as SSE."""

    def __init__(self, model: str, framing: str = JSON_LINES):
        if framing not in (JSON_LINES, SSE):
            raise ValueError(f"unknown framing {framing!r}")
        self.id, self.model, self.created, self.framing = new_id(), model, int(time.time()), framing

    @property
    def content_type(self) -> str:
        return self.framing

    def frame(self, data: bytes) -> bytes:
        return b"data: " + data + b"\n\n" if self.framing == SSE else data + b"\n"

    def _event(self, choices: list, **extra) -> bytes:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }
        return self.frame(json.dumps(body, separators=(",", ":")).encode("utf-8"))

    def delta(self, delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        if finish_reason is not None:
            choice["stop_reason"] = None  # vLLM sets it (None unless a stop string matched) on the finishing chunk
        return self._event([choice])

    def role(self) -> bytes:
        return self.delta({"role": "assistant", "content": ""})

    def text(self, piece: str) -> bytes:
        return self.delta({"content": piece})

    def tool_call_start(self, call: dict) -> bytes:
        # vLLM's tool parsers (Hermes): index, type, id and the name; no arguments key yet.
        return self.delta(
            {
                "tool_calls": [
                    {
                        "index": call["index"],
                        "type": "function",
                        "id": call["id"],
                        "function": {"name": call["function"]["name"]},
                    }
                ]
            }
        )

    def tool_call_arguments(self, index: int, piece: str) -> bytes:
        return self.delta({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})

    def finish(self, reason: str) -> bytes:
        return self.delta({}, reason)

    def usage(self, usage_: dict) -> bytes:
        return self._event([], usage=usage_)

    def error(self, message: str, kind: str = "InternalServerError", code: int = 500) -> bytes:
        return self.frame(json.dumps(stream_error(message, kind, code)).encode("utf-8"))

    def done(self) -> bytes:
        """The stream's last chunk: SSE's `data: [DONE]`; in LMI's framing the empty data it turns
        `[DONE]` into, plus the newline every chunk gets."""
        return b"data: [DONE]\n\n" if self.framing == SSE else b"\n"


class SseToJsonLines:
    """Re-frames an OpenAI-compatible server's SSE stream the way LMI re-frames vLLM's: each `data:`
    payload becomes a line, `[DONE]` becomes the empty last line, everything else (blank lines,
    comments, `event:`/`id:`/`retry:` fields) is dropped. Bytes may arrive cut anywhere."""

    def __init__(self) -> None:
        self._buffer = b""
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = []
        while b"\n" in self._buffer and not self.done:
            line, self._buffer = self._buffer.split(b"\n", 1)
            out.append(self._line(line.rstrip(b"\r")))
        return b"".join(out)

    def close(self) -> bytes:
        """What is left when the upstream ends: a last unterminated line, and the empty last line
        if no `[DONE]` came (LMI ends every stream with it)."""
        rest = b"" if self.done else self._line(self._buffer.rstrip(b"\r"))
        self._buffer = b""
        if self.done:
            return rest
        self.done = True
        return rest + b"\n"

    def _line(self, line: bytes) -> bytes:
        if not line.startswith(b"data:"):
            return b""
        payload = line[len(b"data:") :].strip()
        if payload == b"[DONE]":
            self.done = True
            return b"\n"
        return payload + b"\n" if payload else b""
