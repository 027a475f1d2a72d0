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


class ModelBackend:
    """What a model server implements."""

    name = "model"
    # Other POST paths served like /invocations (the scripted double also poses as an OpenAI server).
    extra_paths: tuple[str, ...] = ()

    def ready(self) -> bool:
        return True

    def invoke(self, handler: "ContainerHandler", body: bytes) -> None:
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

    def error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        """An OpenAI-style error body, as LMI/vLLM return it."""
        self.send_json(status, {"error": {"message": message, "type": kind, "code": status}})

    def parsing_failed(self, message: str) -> None:
        """What LMI answers when its request parser (vLLM's ChatCompletionRequest) refuses a body:
        HTTP 424, `{"code": 424, "error": "Input Parsing failed. ..."}`. Sources (djl-serving):
        engines/python/setup/djl_python/input_parser.py and huggingface.py (the message, code 424),
        engines/python/src/main/java/ai/djl/python/engine/Request.java (the body), and
        serving/docs/lmi/user_guides/lmi_input_output_schema.md, https://github.com/deepjavalibrary/djl-serving
        """
        self.send_json(424, {"code": 424, "error": f"Input Parsing failed. Ensure that the request payload is valid. {message}"})


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
