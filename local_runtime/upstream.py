"""Keep-alive HTTP client from the emulator to the model servers (one connection per thread per upstream).

A fresh TCP connection per invocation would cost more than the whole emulator budget (<1 ms),
so connections are reused; TCP_NODELAY is set so small writes are not held back by Nagle.
"""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

from local_runtime.http_base import nodelay


class _NoDelayConnection(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        nodelay(self.sock)


# A reused connection the server already closed fails on first use with one of these; the
# request never reached the model, so one retry on a fresh connection is safe.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)


class UpstreamPool:
    def __init__(self):
        self._local = threading.local()

    def _connections(self) -> dict:
        if not hasattr(self._local, "connections"):
            self._local.connections = {}
        return self._local.connections

    def post(self, base_url: str, path: str, body: bytes, headers: dict[str, str], timeout: float):
        """POST and return (connection, response) once the status line and headers are in.

        The caller reads the body and then calls `release` (reusable) or `discard` (broken).
        Raises ConnectionRefusedError when nothing listens, TimeoutError when headers are late.
        """
        parts = urlsplit(base_url)
        key = (parts.hostname, parts.port or 80)
        connections = self._connections()
        for attempt in (0, 1):
            connection = connections.pop(key, None)
            reused = connection is not None
            if connection is None:
                connection = _NoDelayConnection(key[0], key[1], timeout=timeout)
            else:
                connection.timeout = timeout
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                return connection, response
            except _STALE:
                connection.close()
                if not reused or attempt:
                    raise
            except BaseException:
                connection.close()
                raise
        raise AssertionError("unreachable")

    def release(self, base_url: str, connection: http.client.HTTPConnection) -> None:
        parts = urlsplit(base_url)
        self._connections()[(parts.hostname, parts.port or 80)] = connection

    @staticmethod
    def discard(connection: http.client.HTTPConnection) -> None:
        connection.close()
