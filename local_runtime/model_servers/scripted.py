"""Scripted model (a TEST DOUBLE): deterministic OpenAI-compatible answers and faults, on the container contract.

Not a language model: it replays the scenario a request selects (see local_runtime.scenarios),
so tests and benchmarks of the emulator and the agent are exact and fast. On /invocations it
answers as the LMI container in vLLM async mode does (JSON-lines streams, LMI's error bodies: see
local_runtime.openai_chat); on /v1/chat/completions as an OpenAI-compatible server (SSE), so the
proxy model server can be tested against it.

Run: python -m local_runtime.model_servers.scripted --port 8090 [--scenario echo]
"""

from __future__ import annotations

import json
import sys
import threading

from local_runtime import scenarios
from local_runtime.model_servers.container import ContainerHandler, ModelBackend, base_arguments, serve
from local_runtime.openai_chat import (
    JSON_LINES,
    LMI_ROLLING_BATCH_ERROR,
    ChunkStream,
    completion,
    flatten_content,
    lmi_stream_error,
    stream_options_problem,
    usage,
    wants_usage,
)

# The malformed_event scenario's line. LMI never sends a line that is not JSON; this one checks that
# clients skip garbage. It keeps an SSE `data:` prefix on purpose: Strands' parser drops a malformed
# `data:` line, but a bare non-JSON line makes it wait for a multi-line JSON document and lose the
# rest of the stream (strands/models/sagemaker.py `_parse_event_stream`).
MALFORMED_LINE = b"data: {this is not json\n"


class ScriptedModel(ModelBackend):
    name = "scripted (test double)"
    model_id = "scripted-test-double"
    extra_paths = ("/v1/chat/completions",)  # so the proxy server can be tested against it

    def __init__(self, default_scenario: str = "echo", default_params: str = ""):
        self.default_scenario = default_scenario
        self.default_params = default_params  # e.g. "latency_ms=50"; a request's own attributes win
        self.stopping = threading.Event()  # cuts 'timeout' and delays short on SIGTERM

    def close(self) -> None:
        self.stopping.set()

    def invoke(self, handler: ContainerHandler, body: bytes) -> None:
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
                # LMI's words for a body with neither prompt, inputs nor messages (vllm_async_service.py)
                raise ValueError("invalid payload. must contain prompt, inputs, or messages")
        except ValueError as error:  # includes JSONDecodeError
            handler.parsing_failed(str(error))
            return
        try:
            attributes = ";".join(
                filter(None, [self.default_params, handler.headers.get("X-Amzn-SageMaker-Custom-Attributes")])
            )
            plan = scenarios.plan(request, attributes, self.default_scenario)
        except ValueError as error:  # an unknown scenario: the double's own refusal
            handler.error(400, str(error))
            return
        if problem := stream_options_problem(request):
            handler.parsing_failed(problem)
            return
        if plan.latency_s:
            self.stopping.wait(plan.latency_s)
        if plan.fault == "throttle":
            handler.error(429, "Too many requests: the scripted model is throttling", "rate_limit_error")
            return
        if plan.fault == "server_error":
            handler.error(500, "Internal error in the scripted model", "server_error")
            return
        if plan.fault == "timeout":
            self.stopping.wait(plan.sleep_s)
            handler.close_connection = True
            return
        prompt_tokens = sum(len(scenarios.tokens(flatten_content(m.get("content")))) for m in request["messages"])
        pieces = scenarios.tokens(plan.text)
        finish = "tool_calls" if plan.tool_calls else "stop"
        limit = request.get("max_tokens")
        if isinstance(limit, int) and not plan.tool_calls and len(pieces) > limit:
            # As an LMI/vLLM server does: stop at max_tokens with finish_reason "length".
            pieces, finish = pieces[:limit], "length"
            plan.text = "".join(pieces)
        usage_ = usage(prompt_tokens, len(pieces) + len(plan.tool_calls))
        if request.get("stream"):
            self._stream(handler, plan, pieces, usage_ if wants_usage(request) else None, finish)
        else:
            self._whole(handler, plan, usage_, finish)

    def _whole(self, handler: ContainerHandler, plan: scenarios.Plan, usage_: dict, finish: str) -> None:
        answer = completion(self.model_id, plan.text, plan.tool_calls, finish, usage_)
        if plan.fault == "stream_error" and plan.error_form == "lmi":  # without a stream: LMI's error answer
            handler.error(424, LMI_ROLLING_BATCH_ERROR)
            return
        if plan.fault == "stream_error":  # the same failure without a stream: vLLM's error object, through LMI
            handler.vllm_refused("Internal server error", "InternalServerError", 500)
            return
        if plan.fault in ("stream_break", "malformed_chunk"):
            body = json.dumps(answer).encode()
            # Promise the whole body, send half, hang up.
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            handler.close_connection = True
            return
        handler.send_answer(answer, self._echo(handler))

    @staticmethod
    def _echo(handler: ContainerHandler) -> dict[str, str]:
        """Custom attributes go back to the caller, as a container may return them."""
        value = handler.headers.get("X-Amzn-SageMaker-Custom-Attributes")
        return {"X-Amzn-SageMaker-Custom-Attributes": value} if value else {}

    def _stream(
        self, handler: ContainerHandler, plan: scenarios.Plan, pieces: list[str], usage_: dict | None, finish: str
    ) -> None:
        events = ChunkStream(self.model_id, plan.framing or handler.stream_framing)
        handler.start_chunked(200, events.content_type, self._echo(handler))

        def write_split(data: bytes) -> None:  # each chunk in two HTTP chunks, cut mid-JSON
            handler.write_chunk(data[: len(data) // 2])
            handler.write_chunk(data[len(data) // 2 :])

        write = write_split if plan.split_events else handler.write_chunk
        write(events.role())
        for number, piece in enumerate(pieces):
            if plan.fault == "stream_error" and number == plan.after_tokens:
                if plan.error_form == "lmi":  # LMI's frontend: its error object ends the stream
                    write(lmi_stream_error())
                else:  # as vLLM when generation fails mid-stream: its error line, then the normal end
                    write(events.error("Internal server error"))
                    write(events.done())
                handler.end_chunked()
                return
            if plan.fault in ("stream_break", "malformed_chunk") and number == plan.after_tokens:
                if plan.fault == "malformed_chunk":
                    handler.wfile.write(b"zz\r\nnot a chunk\r\n")
                handler.close_connection = True
                return
            if plan.fault == "malformed_event" and number == 1:
                write(MALFORMED_LINE if events.framing == JSON_LINES else MALFORMED_LINE + b"\n")
            if plan.token_delay_s and number:
                self.stopping.wait(plan.token_delay_s)
            write(events.text(piece))
        for call in plan.tool_calls:
            write(events.tool_call_start(call))
            arguments = call["function"]["arguments"]
            middle = len(arguments) // 2  # two argument deltas, as streaming servers split them
            for part in (arguments[:middle], arguments[middle:]):
                write(events.tool_call_arguments(call["index"], part))
        write(events.finish(finish))
        if usage_ is not None:  # only when the request asked (stream_options.include_usage)
            write(events.usage(usage_))
        write(events.done())
        handler.end_chunked()


def main(argv: list[str] | None = None) -> int:
    parser = base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="echo", choices=sorted(scenarios.SCENARIOS))
    parser.add_argument("--scenario-params", default="", help="default scenario parameters, e.g. latency_ms=50")
    args = parser.parse_args(argv)
    return serve(ScriptedModel(args.scenario, args.scenario_params), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
