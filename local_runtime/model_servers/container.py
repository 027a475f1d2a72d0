"""The SageMaker container contract, shared by every local model server.

GET /ping answers 200 when the model can serve (served on its own thread, so it answers
within SageMaker's 2 s even while a long generation runs); POST /invocations is the model's
business; the port comes from --port (default $SAGEMAKER_BIND_TO_PORT, else 8080); SIGTERM
stops accepting, lets the backend release resources, and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys

from local_runtime.http_base import LoopbackServer, QuietHandler, serve_until_signalled
from local_runtime.openai_chat import JSON_LINES, SSE, whole_body


class ModelBackend:
    """What a model server implements."""

    name = "model"
    # Other POST paths served like /invocations (the scripted double also poses as an OpenAI server).
    extra_paths: tuple[str, ...] = ()

    def ready(self) -> bool:
        return True

    def invoke(self, handler: ContainerHandler, body: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ContainerHandler(QuietHandler):
    backend: ModelBackend

    def do_GET(self):
        if self.path == "/v1/models" and self.backend.extra_paths:
            self.send_json(200, {"object": "list", "data": [{"id": self.backend.name, "object": "model"}]})
        elif self.path == "/ping":
            ready = self.backend.ready()
            self.send_bytes(200 if ready else 503, b"{}" if ready else b'{"status": "loading"}', "application/json")
        else:
            self.send_bytes(404, b"not found", "text/plain")

    def do_POST(self):
        body = self.read_body()
        if self.path != "/invocations" and self.path not in self.backend.extra_paths:
            self.send_bytes(404, b"not found", "text/plain")
            return
        try:
            self.backend.invoke(self, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the caller went away mid-response

    @property
    def as_container(self) -> bool:
        """Whether this request came in as the container's (/invocations) rather than as an OpenAI
        server's (the scripted double's /v1/chat/completions pose): the two differ in error bodies
        and stream framing."""
        return self.path == "/invocations"

    @property
    def stream_framing(self) -> str:
        """LMI's JSON lines on /invocations, SSE as an OpenAI server."""
        return JSON_LINES if self.as_container else SSE

    def send_answer(self, answer: dict, headers: dict[str, str] | None = None) -> None:
        """A whole chat.completion, as LMI writes it (JSON and a newline, `application/json`)."""
        self.send_bytes(200, whole_body(answer), "application/json", headers)

    def error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        """An error answer: on /invocations LMI's body, `{"code": status, "error": message}` (the
        frontend's rendering of an error the Python handler reports: Request.addResponse); as an
        OpenAI server, OpenAI's `{"error": {...}}`."""
        if self.as_container:
            self.send_json(status, {"code": status, "error": message})
        else:
            self.send_json(status, {"error": {"message": message, "type": kind, "code": status}})

    def parsing_failed(self, message: str) -> None:
        """What LMI's vLLM async mode answers when it cannot read a body (not JSON, no `messages`, or
        vLLM's ChatCompletionRequest refuses it): HTTP 424, `{"code": 424, "error": "Input parsing
        failed: ..."}`. Sources (djl-serving 0.36.0-lmi27-dlc, https://github.com/deepjavalibrary/djl-serving):
        engines/python/setup/djl_python/lmi_vllm/vllm_async_service.py (`inference`: any exception of
        `preprocess_request`, code 424) and engines/python/src/main/java/ai/djl/python/engine/Request.java
        (the body).
        """
        if self.as_container:
            self.send_json(424, {"code": 424, "error": f"Input parsing failed: {message}"})
        else:
            self.error(400, message)

    def vllm_refused(self, message: str, kind: str = "BadRequestError", code: int = 400) -> None:
        """What LMI answers when vLLM itself refuses a request it could parse (e.g. the prompt does
        not fit the context): vLLM returns an `ErrorResponse(error=ErrorInfo(...))`, and LMI's
        `vllm_non_stream_output_formatter` reads `message`/`code` attributes that ErrorResponse no
        longer has, so the answer is HTTP 500 with the object's str() as the message.
        Sources: djl-serving 0.36.0-lmi27-dlc engines/python/setup/djl_python/lmi_vllm/request_response_utils.py,
        vLLM vllm/entrypoints/openai/engine/protocol.py (`ErrorResponse`, `ErrorInfo`).
        """
        if self.as_container:
            described = f"error=ErrorInfo(message={message!r}, type={kind!r}, param=None, code={code})"
            self.send_json(500, {"code": 500, "error": described})
        else:
            self.error(code, message, kind)


def default_port() -> int:
    return int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))


def base_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port())
    return parser


def serve(backend: ModelBackend, host: str, port: int) -> int:
    handler = type("Handler", (ContainerHandler,), {"backend": backend})
    try:
        server = LoopbackServer(host, port, handler, what=f"{backend.name} model server")
    except Exception as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{backend.name} model server on {server.url} (GET /ping, POST /invocations)", flush=True)
    serve_until_signalled(server, on_stop=backend.close)
    return 0
