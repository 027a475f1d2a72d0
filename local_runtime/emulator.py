"""SageMaker Runtime emulator: InvokeEndpoint and InvokeEndpointWithResponseStream on loopback,
wire-compatible with botocore's `sagemaker-runtime` service model, plus the control-plane calls
the kit uses (ListEndpoints, DescribeEndpoint, DescribeEndpointConfig) for `AWS_ENDPOINT_URL_SAGEMAKER`.

    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:8081 AWS_ENDPOINT_URL_SAGEMAKER=http://127.0.0.1:8081

Each variant forwards to a model server that follows the container contract (POST /invocations).
An endpoint of inference components is answered as SageMaker answers one: a request names its
component (`X-Amzn-SageMaker-Inference-Component`) and goes to the model server of the component's
variant; a component at 0 copies refuses it (local_runtime.components). The control plane's
DescribeInferenceComponent, ListInferenceComponents and UpdateInferenceComponentRuntimeConfig read and
set the copies; `GET /_local/components` (not an AWS API) shows them with each component's
Invocations and NoCapacityInvocationFailures.
Streaming responses are passed through part by part as `PayloadPart` events, never buffered whole.
Signatures are not verified: there are no credentials locally.

Run: python -m local_runtime.emulator --env dev --upstream http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import re
import sys
import threading
import time
import uuid

from local_runtime import aws_errors, event_stream
from local_runtime.aws_errors import AwsError
from local_runtime.components import Components
from local_runtime.endpoints import LocalEndpoint, endpoints_from_environment, load_endpoints
from local_runtime.http_base import LoopbackServer, QuietHandler, serve_until_signalled
from local_runtime.upstream import UpstreamPool

DEFAULT_PORT = 8081
DEFAULT_INVOCATION_TIMEOUT = 60.0  # SageMaker's limit for a real-time invocation
MAX_REQUEST_BYTES = 25 * 1024 * 1024  # SageMaker real-time payload limit (25 MB)
READ_SIZE = 64 * 1024

_ROUTE = re.compile(r"^/endpoints/(?P<name>[^/]+)/(?P<op>invocations|invocations-response-stream)$")
# Request headers SageMaker hands on to the container unchanged.
_FORWARDED = (
    "X-Amzn-SageMaker-Custom-Attributes",
    "X-Amzn-SageMaker-Target-Model",
    "X-Amzn-SageMaker-Inference-Id",
    "X-Amzn-SageMaker-Session-Id",
    "X-Amzn-SageMaker-Target-Container-Hostname",
)
_BROKEN = (http.client.HTTPException, ConnectionError, ValueError)  # IncompleteRead, resets, bad chunk sizes


class _TokenBucket:
    """Optional per-endpoint rate limit, so ThrottlingException can be exercised locally."""

    def __init__(self, rate: float):
        # Room for at least one request: below 1 request/s a bucket of `rate` tokens never fills.
        self.rate, self.capacity = rate, max(rate, 1.0)
        self.tokens, self.stamp, self.lock = self.capacity, time.monotonic(), threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class Emulator:
    def __init__(
        self,
        endpoints: list[LocalEndpoint],
        invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT,
        scale_out_seconds: float | None = None,
        start_at_zero: bool = False,
    ):
        self.endpoints = {endpoint.name.lower(): endpoint for endpoint in endpoints}
        self.invocation_timeout = invocation_timeout
        self.components = Components(endpoints, scale_out_seconds, start_at_zero)
        self.buckets = {name: _TokenBucket(e.throttle_rps) for name, e in self.endpoints.items() if e.throttle_rps}
        self.upstream = UpstreamPool()
        self.account = endpoints[0].account if endpoints else "000000000000"
        self.region = endpoints[0].region if endpoints else "us-east-1"

    def handler(self) -> type[QuietHandler]:
        emulator = self

        class Handler(_Handler):
            pass

        Handler.emulator = emulator
        return Handler

    def server(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> LoopbackServer:
        return LoopbackServer(host, port, self.handler(), what="SageMaker Runtime emulator")


class _Handler(QuietHandler):
    emulator: Emulator

    # -- routing -------------------------------------------------------------------------------
    def do_GET(self):
        if self.path == "/ping":  # readiness probe for the supervisor and tests; not an AWS API
            self.send_bytes(200, b"", "text/plain")
        elif self.path == "/_local/components":  # the components' copies and counts; not an AWS API
            self.send_json(200, {"InferenceComponents": [state.metrics() for state in self.emulator.components.all()]})
        else:
            self._unknown_operation()

    def do_POST(self):
        self.request_id, self.streaming_started = str(uuid.uuid4()), False
        route = _ROUTE.match(self.path.split("?", 1)[0])
        try:
            if route:
                self._invoke(route["name"], streaming=route["op"] == "invocations-response-stream")
            elif self.path == "/" and self.headers.get("X-Amz-Target", "").startswith("SageMaker."):
                from local_runtime import control_plane  # keeps the hot path's imports small

                control_plane.handle(self, self.emulator, self.headers["X-Amz-Target"].removeprefix("SageMaker."))
            else:
                self.read_body()
                self._unknown_operation()
        except AwsError as error:
            self._send_error(error)
        except Exception as error:  # a bug of ours: answer as AWS would, unless a stream already started
            if not self.streaming_started:
                self._send_error(AwsError(500, "InternalFailure", f"Internal failure in the local emulator: {error!r}"))
            else:
                self.close_connection = True

    def _send_error(self, error: AwsError) -> None:
        status, headers, body = error.rest_json()
        self.send_json(status, body, {**headers, "x-amzn-RequestId": self.request_id})

    def _unknown_operation(self):
        self.send_json(
            404,
            {"message": f"No operation matches {self.command} {self.path}"},
            {"x-amzn-ErrorType": "UnknownOperationException"},
        )

    # -- runtime -------------------------------------------------------------------------------
    def _invoke(self, name: str, streaming: bool) -> None:
        emulator = self.emulator
        body = self.read_body()
        endpoint, variant = self._admit(name, body)
        connection, response = self._post(endpoint, variant, body, streaming)
        reply = {"x-Amzn-Invoked-Production-Variant": variant.name, "x-amzn-RequestId": self.request_id}
        if response.getheader("X-Amzn-SageMaker-Custom-Attributes"):
            reply["X-Amzn-SageMaker-Custom-Attributes"] = response.getheader("X-Amzn-SageMaker-Custom-Attributes")
        content_type = response.getheader("Content-Type") or "application/octet-stream"

        if not 200 <= response.status < 300 or not streaming:
            try:
                data = response.read()
            except TimeoutError:
                emulator.upstream.discard(connection)
                raise aws_errors.model_timeout(endpoint) from None
            except _BROKEN as error:
                emulator.upstream.discard(connection)
                raise aws_errors.model_error(
                    endpoint, 0, f"connection to the model closed: {error!r}".encode()
                ) from None
            self._settle(variant.upstream, connection, response)
            if not 200 <= response.status < 300:
                raise aws_errors.model_error(endpoint, response.status, data)
            self.send_bytes(200, data, content_type, reply)
            return
        self._stream(variant.upstream, connection, response, {**reply, "X-Amzn-SageMaker-Content-Type": content_type})

    def _admit(self, name: str, body: bytes):
        """The endpoint and variant this request goes to, as SageMaker checks them (or its error)."""
        emulator = self.emulator
        component_name = self.headers.get("X-Amzn-SageMaker-Inference-Component")
        if component_name is not None:
            _check_component_name(component_name)
        endpoint = emulator.endpoints.get(name.lower())
        if endpoint is None:
            raise aws_errors.endpoint_not_found(name, emulator.account)
        if len(body) > MAX_REQUEST_BYTES:
            raise aws_errors.validation(
                f"Request payload size ({len(body)} bytes) exceeds the maximum of {MAX_REQUEST_BYTES} bytes."
            )
        if endpoint.hosts_inference_components:
            if not component_name:
                raise aws_errors.validation(aws_errors.COMPONENT_REQUIRED)
            component = endpoint.component(component_name)
            if component is None:
                raise aws_errors.component_not_found(component_name, endpoint)
        elif component_name:
            raise aws_errors.validation(aws_errors.COMPONENT_NOT_ALLOWED)
        bucket = emulator.buckets.get(endpoint.name.lower())
        if bucket and not bucket.take():
            raise aws_errors.throttled()
        target = self.headers.get("X-Amzn-SageMaker-Target-Variant")
        variant = endpoint.variant(target) if target else None
        if target and variant is None:
            raise aws_errors.validation(
                f'The variant(s) "[{target}]" is/are not in Endpoint Config "{endpoint.config_name}".'
            )
        if endpoint.hosts_inference_components:
            # The component's copies live on its variant: that variant's model server answers.
            if not emulator.components.admit(component.name):
                raise aws_errors.validation(aws_errors.NO_CAPACITY)
            return endpoint, endpoint.variant(component.variant)
        return endpoint, variant or endpoint.pick_variant()

    def _post(self, endpoint, variant, body: bytes, streaming: bool):
        """The request to the variant's model server; its connection and response (or SageMaker's error)."""
        emulator = self.emulator
        accept = self.headers.get("X-Amzn-SageMaker-Accept" if streaming else "Accept")
        headers = {
            "Content-Type": self.headers.get("Content-Type") or "application/octet-stream",
            "Accept": accept or "*/*",
        }
        headers.update({h: self.headers[h] for h in _FORWARDED if self.headers.get(h)})
        try:
            return emulator.upstream.post(variant.upstream, "/invocations", body, headers, emulator.invocation_timeout)
        except TimeoutError:
            raise aws_errors.model_timeout(endpoint) from None
        except ConnectionRefusedError:
            raise aws_errors.service_unavailable(
                f"The model server of variant {variant.name} is not reachable at {variant.upstream}."
            ) from None
        except _BROKEN as error:
            raise aws_errors.model_error(endpoint, 0, f"connection to the model closed: {error!r}".encode()) from None

    def _stream(self, upstream: str, connection, response, reply: dict) -> None:
        self.streaming_started = True
        self.start_chunked(200, "application/vnd.amazon.eventstream", reply)
        try:
            while True:
                try:
                    data = response.read1(READ_SIZE)
                except TimeoutError:
                    self.write_chunk(
                        event_stream.stream_exception(
                            "ModelStreamError",
                            "Model invocation time exceeded while streaming the response.",
                            event_stream.INVOCATION_TIME_EXCEEDED,
                        )
                    )
                    self.emulator.upstream.discard(connection)
                    break
                except _BROKEN:
                    self.write_chunk(
                        event_stream.stream_exception(
                            "ModelStreamError",
                            "The connection to the model was reset or closed while streaming the response.",
                            event_stream.STREAM_BROKEN,
                        )
                    )
                    self.emulator.upstream.discard(connection)
                    break
                if not data:
                    self._settle(upstream, connection, response)
                    break
                self.write_chunk(event_stream.payload_part(data))
            self.end_chunked()
        except (BrokenPipeError, ConnectionResetError):
            # The client went away: drop the model connection so the container stops generating.
            self.emulator.upstream.discard(connection)
            self.close_connection = True

    def _settle(self, upstream: str, connection, response) -> None:
        if response.will_close:
            self.emulator.upstream.discard(connection)
        else:
            self.emulator.upstream.release(upstream, connection)


def _check_component_name(value: str) -> None:
    """The header's constraints in botocore's sagemaker-runtime model (InferenceComponentHeader)."""
    if len(value) > aws_errors.COMPONENT_NAME_MAX:
        raise aws_errors.constraint(
            value,
            "inferenceComponentName",
            f"Member must have length less than or equal to {aws_errors.COMPONENT_NAME_MAX}",
        )
    if value and not re.match(aws_errors.COMPONENT_NAME_PATTERN, value):
        raise aws_errors.constraint(
            value,
            "inferenceComponentName",
            f"Member must satisfy regular expression pattern: {aws_errors.COMPONENT_NAME_PATTERN}",
        )


def _parse_upstreams(values: list[str]) -> dict[str, str] | str:
    """`URL` (every variant) or `VARIANT=URL` pairs."""
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    return dict(value.split("=", 1) for value in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime.emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--endpoints-file", help="JSON written by local_runtime.endpoints.dump_endpoints")
    source.add_argument("--env", help="environment whose inference endpoint to serve (config/<env>.yaml)")
    parser.add_argument(
        "--upstream", action="append", default=[], help="URL for every variant, or VARIANT=URL (with --env)"
    )
    parser.add_argument("--invocation-timeout", type=float, default=DEFAULT_INVOCATION_TIMEOUT)
    parser.add_argument(
        "--throttle-rps", type=float, default=None, help="rate limit per endpoint (ThrottlingException above it)"
    )
    parser.add_argument(
        "--scale-out-from-zero",
        type=float,
        default=None,
        metavar="SECONDS",
        help="a component that scales to zero gets a copy this long after its first refused request (AWS: "
        "minutes); unset: only UpdateInferenceComponentRuntimeConfig brings copies back",
    )
    parser.add_argument(
        "--start-at-zero", action="store_true", help="components that scale to zero start at 0 copies (idle)"
    )
    args = parser.parse_args(argv)

    if args.endpoints_file:
        with open(args.endpoints_file, encoding="utf-8") as handle:
            endpoints = load_endpoints(handle.read())
    else:
        from kit_config.loader import load_environment

        environment = load_environment(args.env)
        upstreams = _parse_upstreams(args.upstream or ["http://127.0.0.1:8080"])
        if isinstance(upstreams, str):
            upstreams = (
                {variant.name: upstreams for variant in environment.inference.variants} if environment.inference else {}
            )
        endpoints = endpoints_from_environment(environment, upstreams)
    if args.throttle_rps:
        endpoints = [dataclasses.replace(endpoint, throttle_rps=args.throttle_rps) for endpoint in endpoints]
    try:
        emulator = Emulator(endpoints, args.invocation_timeout, args.scale_out_from_zero, args.start_at_zero)
        server = emulator.server(args.host, args.port)
    except Exception as error:  # PortInUseError and friends: one clear line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = ", ".join(endpoint.name for endpoint in endpoints) or "none"
    print(f"SageMaker Runtime emulator on {server.url} serving endpoint(s): {names}", flush=True)
    serve_until_signalled(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
