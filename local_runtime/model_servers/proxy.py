"""Proxy model server: the container contract in front of any OpenAI-compatible server the user
runs (vLLM, Ollama, llama.cpp's llama-server, ...), so a bigger local model sits behind the emulator.

POST /invocations is forwarded to `<base-url>/chat/completions`; streamed SSE is passed through
as it arrives. The body goes on as the client sent it (only a missing `model` is filled in): the
usage chunk of a stream comes back only if the client asked (`stream_options.include_usage`), as
from LMI. `stream_options` without `stream: true` is refused here with LMI's 424, whatever the
upstream server would do.
GET /ping answers 200 when `<base-url>/models` answers within 1.5 s.

Run: python -m local_runtime.model_servers.proxy --port 8080 --base-url http://127.0.0.1:11434/v1 --model llama3.2
"""

from __future__ import annotations

import json
import sys
import urllib.request

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy
from urllib.parse import urlsplit

from local_runtime.model_servers.container import ContainerHandler, ModelBackend, base_arguments, serve
from local_runtime.openai_chat import stream_options_problem
from local_runtime.upstream import UpstreamPool

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
            if not isinstance(request, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as error:
            handler.error(400, str(error))
            return
        if problem := stream_options_problem(request):
            handler.parsing_failed(problem)
            return
        if self.model and not request.get("model"):
            request["model"] = self.model
        headers = {"Content-Type": "application/json", "Accept": handler.headers.get("Accept") or "*/*"}
        try:
            connection, response = self.pool.post(self.base_url, self.path, json.dumps(request).encode(), headers, self.timeout)
        except OSError as error:
            handler.error(502, f"OpenAI-compatible server at {self.base_url} is not reachable: {error}", "server_error")
            return
        content_type = response.getheader("Content-Type") or "application/json"
        try:
            if response.getheader("Transfer-Encoding", "").lower() != "chunked":
                handler.send_bytes(response.status, response.read(), content_type)
            else:
                handler.start_chunked(response.status, content_type)
                while data := response.read1(READ_SIZE):
                    handler.write_chunk(data)
                handler.end_chunked()
        except (OSError, ValueError):
            self.pool.discard(connection)
            handler.close_connection = True  # the break reaches the emulator as a broken stream
            return
        if response.will_close:
            self.pool.discard(connection)
        else:
            self.pool.release(self.base_url, connection)


def main(argv: list[str] | None = None) -> int:
    parser = base_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1")
    parser.add_argument("--model", default=None, help="model name to send when the request has none")
    args = parser.parse_args(argv)
    return serve(ProxyModel(args.base_url, args.model), args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
