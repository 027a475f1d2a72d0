"""The small HTTP layer every local server shares: standard library only, tuned for latency.

Why `http.server` and not an ASGI stack: the emulator's job is to add well under a millisecond,
and a threaded server with HTTP/1.1 keep-alive and TCP_NODELAY does that with no dependency
and no event-loop hop. Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to every keep-alive
request (REFERENCE.md), so it is set on both sides of every connection.
"""

from __future__ import annotations

import errno
import json
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PortInUseError(RuntimeError):
    """A port the local runtime needs is taken; the message names it."""


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True  # an open keep-alive connection must not block shutdown
    request_queue_size = 128

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler], what: str = "server"):
        try:
            super().__init__((host, port), handler)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(f"{what}: port {port} on {host} is already in use (choose another port)") from None
            raise

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True
    server_version = "local-runtime"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format, *args):
        pass  # one line per request would cost more than the request

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":  # a body of unknown length
            body = bytearray()
            while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return bytes(body)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(
        self, status: int, data, headers: dict[str, str] | None = None, content_type: str = "application/json"
    ) -> None:
        self.send_bytes(status, json.dumps(data).encode("utf-8"), content_type, headers)

    def start_chunked(self, status: int, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        if data:  # an empty chunk would end the body
            # One write per chunk: size line, data and CRLF leave in a single segment.
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")


def nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def serve_until_signalled(server: LoopbackServer, on_stop=None) -> None:
    """Serve until SIGTERM/SIGINT, then stop accepting, run `on_stop`, close the socket, return."""
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        if on_stop:
            on_stop()
        server.server_close()
