"""Test double of the Lambda Runtime API's extension side, on loopback, for a stand-in Lambda host.

Implements what an internal extension uses (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html,
"Extensions API reference"): `POST /2020-01-01/extension/register` (`Lambda-Extension-Name` required;
`Lambda-Extension-Identifier` returned; `SHUTDOWN` refused, as for internal extensions; refused
once init is over) and `GET /2020-01-01/extension/event/next` (blocks until the next event). The
host drives the lifecycle as Lambda would: `invoke()` sends an INVOKE event to every registered
extension (it ends init the first time), the host calls the handler, then `wait_until_frozen()`
waits until every extension has called `Next` again: the moment Lambda may freeze the
environment. Not implemented: the runtime's own endpoints (the host calls the handler directly),
SHUTDOWN, the Telemetry API.

    api = LambdaRuntimeApiDouble().start()
    os.environ["AWS_LAMBDA_RUNTIME_API"] = api.address   # before the handler is imported (init)
    api.wait_until_frozen(10)                            # init done: every extension is in Next
    api.invoke(request_id, deadline_ms)
    handler(event, context)
    api.wait_until_frozen(60)                            # post-response work done
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from local_runtime.http_base import LoopbackServer, QuietHandler

PREFIX = "/2020-01-01/extension/"


class LambdaRuntimeApiDouble:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._extensions: dict[str, dict] = {}  # id -> {"name", "events": [queued], "waiting": bool}
        self._init_done = False
        self._closed = False
        double = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                if self.path != PREFIX + "register":
                    return self.send_json(404, {"errorMessage": f"no route {self.path}"})
                status, data, headers = double._register(self.headers.get("Lambda-Extension-Name"), body)
                self.send_json(status, data, headers)

            def do_GET(self) -> None:
                if self.path != PREFIX + "event/next":
                    return self.send_json(404, {"errorMessage": f"no route {self.path}"})
                status, data = double._next(self.headers.get("Lambda-Extension-Identifier"))
                self.send_json(status, data)

        self._server = LoopbackServer("127.0.0.1", 0, Handler, "Lambda Runtime API test double")

    @property
    def address(self) -> str:
        """The value of AWS_LAMBDA_RUNTIME_API: host:port, no scheme."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> LambdaRuntimeApiDouble:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return self

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()

    @property
    def registered(self) -> list[str]:
        with self._lock:
            return [extension["name"] for extension in self._extensions.values()]

    def invoke(
        self,
        request_id: str,
        deadline_ms: int | None = None,
        function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:stand-in",
    ) -> None:
        """Send an INVOKE event to every registered extension (the first call also ends init)."""
        event = {
            "eventType": "INVOKE",
            "requestId": request_id,
            "invokedFunctionArn": function_arn,
            "deadlineMs": deadline_ms if deadline_ms is not None else int(time.time() * 1000) + 60_000,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"},
        }
        with self._lock:
            self._init_done = True
            for extension in self._extensions.values():
                extension["events"].append(event)
            self._lock.notify_all()

    def wait_until_frozen(self, timeout: float) -> bool:
        """Until every registered extension waits in `Next` with no event pending (Lambda may freeze)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: all(e["waiting"] and not e["events"] for e in self._extensions.values()), timeout
            )

    # -- the API -----------------------------------------------------------------------------------

    def _register(self, name: str | None, body: bytes) -> tuple[int, dict, dict]:
        try:
            events = json.loads(body or b"{}").get("events", [])
        except (ValueError, AttributeError):
            return 400, {"errorType": "InvalidRequest", "errorMessage": "body must be a JSON object"}, {}
        if not name:
            return 400, {"errorType": "InvalidRequest", "errorMessage": "Lambda-Extension-Name is required"}, {}
        if set(events) - {"INVOKE"}:
            return (
                400,
                {
                    "errorType": "InvalidRequest",
                    "errorMessage": f"internal extensions may register for INVOKE only, not {events}",
                },
                {},
            )
        with self._lock:
            if self._init_done:
                return 403, {"errorType": "Extension.InvalidState", "errorMessage": "registration after init"}, {}
            identifier = str(uuid.uuid4())
            self._extensions[identifier] = {"name": name, "events": [], "waiting": False}
        return (
            200,
            {"functionName": "stand-in", "functionVersion": "$LATEST", "handler": "lambda_handler.handler"},
            {"Lambda-Extension-Identifier": identifier},
        )

    def _next(self, identifier: str | None) -> tuple[int, dict]:
        with self._lock:
            extension = self._extensions.get(identifier or "")
            if extension is None:
                return 403, {"errorType": "Extension.UnknownExtensionIdentifier", "errorMessage": "unknown extension"}
            extension["waiting"] = True
            self._lock.notify_all()
            self._lock.wait_for(lambda: extension["events"] or self._closed)
            if self._closed:
                return 500, {"errorType": "Extension.Shutdown", "errorMessage": "the double is closed"}
            extension["waiting"] = False
            return 200, extension["events"].pop(0)
