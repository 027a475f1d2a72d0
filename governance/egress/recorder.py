"""A recorder at the connection layer: every host a library in this process tries to reach is written
down, and the attempt is stopped there, so nothing leaves the machine.

Every HTTP client the runtime uses (botocore and requests both sit on urllib3) opens its sockets
through `socket.getaddrinfo` (urllib3/util/connection.py, `create_connection`) before it connects;
`socket.create_connection` and `socket.socket.connect` are guarded too, for any client that does
not. The recorder answers with `EgressBlocked`, a BaseException: the clients' retry loops and the
runtime's own `except Exception` handlers (tracing never fails a request) do not catch it, so a
code path stops at its first connection, without retries or back-off sleeps, and the probe that
drove it sees where it stopped.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field


class EgressBlocked(BaseException):
    """Raised where a connection would have been opened (BaseException: no client retries it)."""


@dataclass(frozen=True, order=True)
class Connection:
    host: str
    port: int


@dataclass
class ConnectionRecorder:
    """Context manager: patches the socket module process-wide (every thread) while active."""

    attempts: list[Connection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hosts(self) -> set[str]:
        with self._lock:
            return {attempt.host for attempt in self.attempts}

    def _record(self, host: object, port: object) -> None:
        host = host.decode() if isinstance(host, bytes) else str(host)
        with self._lock:
            self.attempts.append(Connection(host, int(port or 0)))
        raise EgressBlocked(f"{host}:{port}")

    def __enter__(self) -> ConnectionRecorder:
        self._saved = (socket.getaddrinfo, socket.create_connection, socket.socket.connect)

        def getaddrinfo(host, port, *args, **kwargs):
            self._record(host, port)

        def create_connection(address, *args, **kwargs):
            self._record(*address[:2])

        def connect(sock, address):
            if isinstance(address, tuple):
                self._record(*address[:2])
            return self._saved[2](sock, address)  # AF_UNIX: local, not egress

        socket.getaddrinfo, socket.create_connection, socket.socket.connect = getaddrinfo, create_connection, connect
        return self

    def __exit__(self, *exc) -> None:
        socket.getaddrinfo, socket.create_connection, socket.socket.connect = self._saved
