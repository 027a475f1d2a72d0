"""Proxy model server: the container contract in front of any OpenAI-compatible server the user
runs (vLLM, Ollama, llama.cpp's llama-server, ...), so a bigger local model sits behind the emulator.

POST /invocations is forwarded to `<base-url>/chat/completions`, and the answer comes back framed
as the LMI container (vLLM async mode) frames it, since this server stands in for the container:
the upstream's SSE stream is re-framed as it arrives into LMI's JSON lines (`application/jsonlines`,
`data: ` stripped, `[DONE]` turned into the empty last line; see local_runtime.openai_chat), a whole
answer goes out as `application/json`, and an upstream refusal as LMI passes on vLLM's (HTTP 500,
`{"code": 500, "error": "error=ErrorInfo(...)"}`). The body goes on as the client sent it (only a
missing `model` is filled in): the usage chunk of a stream comes back only if the client asked
(`stream_options.include_usage`), as from LMI. A body LMI could not read (not JSON, or
`stream_options` without `stream: true`) is refused here with LMI's 424, whatever the upstream
server would do.
GET /ping answers 200 when `<base-url>/models` answers within 1.5 s.

Run: python -m local_runtime.model_servers.proxy --port 8080 --base-url http://127.0.0.1:11434/v1 --model llama3.2
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.request
from urllib.parse import urlsplit

from local_runtime.model_servers.container import ContainerHandler, ModelBackend, base_arguments, serve
from local_runtime.openai_chat import JSON_LINES, SseToJsonLines, stream_options_problem
from local_runtime.upstream import UpstreamPool

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy

READ_SIZE = 64 * 1024


class ProxyModel(ModelBackend):
    name = "proxy"

    def __init__(self, base_url: str, model: str | None = None, timeout: float = 120.0):
        self.base_url, self.model, self.timeout = base_url.rstrip("/"), model, timeout
        self.path = urlsplit(self.base_url).path + "/chat/completions"
        self.pool = UpstreamPool()
        self.name = f"proxy -> {self.base_url}"

    def ready(self) -> bool:
        try:
            with _DIRECT.open(f"{self.base_url}/models", timeout=1.5) as response:
                return response.status == 200
        except OSError:
            return False

    def invoke(self, handler: ContainerHandler, body: bytes) -> None:
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict) or "messages" not in request:  # LMI's check (chat is all this serves)
                raise ValueError("invalid payload. must contain prompt, inputs, or messages")
        except ValueError as error:
            handler.parsing_failed(str(error))
            return
        if problem := stream_options_problem(request):
            handler.parsing_failed(problem)
            return
        if self.model and not request.get("model"):
            request["model"] = self.model
        headers = {"Content-Type": "application/json", "Accept": handler.headers.get("Accept") or "*/*"}
        try:
            connection, response = self.pool.post(
                self.base_url, self.path, json.dumps(request).encode(), headers, self.timeout
            )
        except OSError as error:
            handler.error(502, f"OpenAI-compatible server at {self.base_url} is not reachable: {error}", "server_error")
            return
        content_type = response.getheader("Content-Type") or "application/json"
        try:
            if not 200 <= response.status < 300:
                handler.vllm_refused(*_upstream_error(response.status, response.read()))
            elif "text/event-stream" in content_type:
                reframe = SseToJsonLines()
                handler.start_chunked(200, JSON_LINES)
                while data := response.read1(READ_SIZE):
                    handler.write_chunk(reframe.feed(data))
                handler.write_chunk(reframe.close())
                handler.end_chunked()
            elif request.get("stream"):  # already JSON lines (another LMI-like server): as it comes
                handler.start_chunked(200, JSON_LINES)
                while data := response.read1(READ_SIZE):
                    handler.write_chunk(data)
                handler.end_chunked()
            else:
                data = response.read()
                handler.send_bytes(200, data if data.endswith(b"\n") else data + b"\n", "application/json")
        except (OSError, ValueError, http.client.HTTPException):  # e.g. IncompleteRead: the upstream broke off
            self.pool.discard(connection)
            handler.close_connection = True  # the break reaches the emulator as a broken stream
            return
        if response.will_close:
            self.pool.discard(connection)
        else:
            self.pool.release(self.base_url, connection)


def _upstream_error(status: int, body: bytes) -> tuple[str, str, int]:
    """(message, type, code) of an OpenAI-style error body, or the raw text."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        code = error.get("code")
        return (
            str(error.get("message", "")),
            str(error.get("type") or "BadRequestError"),
            code if isinstance(code, int) else status,
        )
    if isinstance(error, str):
        return error, "BadRequestError", status
    return body.decode("utf-8", "replace")[:500], "BadRequestError", status


def main(argv: list[str] | None = None) -> int:
    parser = base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default=None, help="model name to send when the request has none")
    args = parser.parse_args(argv)
    return serve(ProxyModel(args.base_url, args.model), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
