"""An internal Lambda extension: work that must finish before the environment freezes, done after
the response has left.

Lambda's lifecycle (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html,
"Lambda execution environment lifecycle", "Invoke phase"; the same in
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): each phase starts
with an event to the runtime and to every registered extension, each signals completion with a
`Next` request, and Lambda freezes the environment only once the runtime and every extension have
done so. The runtime posts the function's response when the handler returns, and a synchronous
caller gets it then; an extension may go on working until it calls `Next`. That time is billed
("You are charged for the execution time that the extension consumes",
https://docs.aws.amazon.com/lambda/latest/dg/lambda-extensions.html; reported as
`PostRuntimeExtensionsDuration`), and it counts against the function's timeout: "the function and
all extensions need to complete within" it ("Duration limit", Invoke phase). A timeout or crash
resets the environment ("Failure handling").

An *internal* extension is a thread of the runtime process. It must register during init, before
the runtime's first `Next` (after that, `Register` is refused: aws-lambda-rust-runtime issue 743,
whose `extension-internal-flush` example is this pattern), and may register for `INVOKE` only
(`SHUTDOWN` is refused for internal extensions, "Register"). `Lambda-Extension-Name` names it; for
an internal extension there is no file to match (the Python `lambda-otel-lite` registers as
"internal"). The `Next` call is not given a timeout: the environment may stay frozen in it.

`PostResponseWork` registers, then loops: on each INVOKE event it waits until the handler has
finished that invocation (`finished(request_id)`), runs `work(seconds_left)` bounded by the
invocation's deadline, and calls `Next`.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
API_VERSION = "2020-01-01"
EXTENSION_NAME = "agent-trace-export"
# Stop the work this long before the invocation's deadline: the whole Invoke phase must end by it.
DEADLINE_MARGIN_SECONDS = 0.5


class ExtensionError(RuntimeError):
    pass


class PostResponseWork:
    """An internal extension that runs `work(seconds_left)` after each invocation's handler."""

    def __init__(self, runtime_api: str, work: Callable[[float], object], name: str = EXTENSION_NAME) -> None:
        self.runtime_api, self.work, self.name = runtime_api, work, name
        self.extension_id: str | None = None
        self._finished: set[str] = set()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Register (during init, before the runtime's first `Next`), then serve events in a thread."""
        status, headers, body = self._request(
            "POST", "extension/register", {"Lambda-Extension-Name": self.name}, json.dumps({"events": ["INVOKE"]})
        )
        if status != 200 or not headers.get("lambda-extension-identifier"):
            raise ExtensionError(f"extension registration answered {status}: {body[:300]!r}")
        self.extension_id = headers["lambda-extension-identifier"]
        self._thread = threading.Thread(target=self._serve, name="lambda-extension", daemon=True)
        self._thread.start()

    def finished(self, request_id: str) -> None:
        """The handler has returned for `request_id`: the work for it may start."""
        with self._changed:
            self._finished.add(request_id)
            self._changed.notify_all()

    def _serve(self) -> None:
        connection = self._connection()
        while True:
            try:
                event = self._next(connection)
            except (OSError, http.client.HTTPException, ExtensionError, ValueError):
                # 500 means "non-recoverable, exit promptly" (Extensions API reference, Next).
                log.error("lambda extension: Next failed; post-response work stops", exc_info=True)
                return
            if event.get("eventType") != "INVOKE":
                continue
            deadline = event.get("deadlineMs", 0) / 1000
            request_id = event.get("requestId", "")
            with self._changed:
                self._changed.wait_for(lambda request_id=request_id: request_id in self._finished, _left(deadline))
                self._finished.discard(request_id)
            try:
                self.work(_left(deadline))
            except Exception:
                log.warning("lambda extension: post-response work failed", exc_info=True)

    def _next(self, connection: http.client.HTTPConnection) -> dict:
        connection.request(
            "GET", f"/{API_VERSION}/extension/event/next", headers={"Lambda-Extension-Identifier": self.extension_id}
        )
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise ExtensionError(f"Next answered {response.status}: {body[:300]!r}")
        return json.loads(body)

    def _connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        host, _, port = self.runtime_api.partition(":")
        return http.client.HTTPConnection(host, int(port or 80), timeout=timeout)

    def _request(self, method: str, path: str, headers: dict, body: str | None = None) -> tuple[int, dict, bytes]:
        connection = self._connection(timeout=10)
        try:
            connection.request(
                method, f"/{API_VERSION}/{path}", body=body, headers={"Content-Type": "application/json", **headers}
            )
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.time() - DEADLINE_MARGIN_SECONDS)
