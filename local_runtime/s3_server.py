"""A real S3 API on loopback for `make local`, the tests and `make bench-agent`: the agent's sessions,
session locks and caller slots go through the same S3 calls as on AWS.

    python -m local_runtime.s3_server [--host 127.0.0.1] [--port 9000] [--bucket NAME]... [--region us-east-1]

Point boto3 at it with `AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000` (any access key); the buckets
are created on start, and `GET /_ping` answers 200 once they exist. State is in memory: it lasts as
long as the server runs.

The server is moto's (PyPI `moto`, pinned in requirements-local.txt; `moto/s3/responses.py`), which
implements what the kit relies on, as S3 documents it (checked by tests/local_runtime/test_s3_server.py):
- PutObject with `If-None-Match: *` on an existing key: 412 PreconditionFailed, object unchanged;
- DeleteObject with `If-Match: <etag>`: 412 PreconditionFailed when the ETag is not the object's
  (object kept), 404 NoSuchKey when there is no object, 204 when it matches;
- GetObject of a missing key: 404 NoSuchKey.
What moto does not do by itself, and this module adds: those checks are atomic. moto checks the
condition and then writes, in a threaded server, so two concurrent conditional puts can both
succeed (measured here: 7 of 300 races of 8 writers had two winners with a short thread switch
interval) where S3 lets exactly one through. Every mutating request (PUT, POST, DELETE) is served
under one lock, so a conditional write or delete sees no other write between its check and its
effect; reads stay concurrent. What differs from S3 and how the kit stays no more lenient for it:
- S3 answers 409 ConditionalRequestConflict to a conditional write racing another write on the same
  key; with writes serialized this server never does. The kit's handling of 409 (retry the put) is
  tested with an injected 409 (tests/agent_runtime/test_session_store.py).
- No IAM, signatures are not checked, no KMS: an AccessDenied path is tested with botocore's Stubber.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

DEFAULT_PORT = 9000
DEFAULT_BUCKET = "agent-sessions-local"
READY_PATH = "/_ping"  # no bucket name starts with "_": never an S3 request
MUTATING = frozenset({"PUT", "POST", "DELETE"})


def url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def ready_url(host: str, port: int) -> str:
    return url(host, port) + READY_PATH


class AtomicWrites:
    """WSGI middleware: mutating requests one at a time, each wholly served (its body produced)
    before the next starts, so moto's check-then-write of a conditional request cannot interleave
    with another write."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.ready = threading.Event()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == READY_PATH:
            status = "200 OK" if self.ready.is_set() else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        if environ.get("REQUEST_METHOD") not in MUTATING:
            return self.app(environ, start_response)
        with self.lock:
            response = self.app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()


def build_app() -> AtomicWrites:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return AtomicWrites(DomainDispatcherApplication(create_backend_app))


def request_handler():
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class Handler(MotoRequestHandler):
        # Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to each keep-alive request
        # (shared/REFERENCE.md; local_runtime/http_base.py sets it for the kit's own servers).
        disable_nagle_algorithm = True

        def log_request(self, *args, **kwargs) -> None:
            pass  # a line per request: noise in `make local`, CPU under load

    return Handler


def create_buckets(endpoint: str, buckets: list[str], region: str) -> None:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )
    for bucket in buckets:
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        client.create_bucket(Bucket=bucket, **extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime.s3_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--bucket", action="append", default=[], help=f"created on start (default {DEFAULT_BUCKET})")
    parser.add_argument("--region", default="us-east-1", help="the buckets' region")
    args = parser.parse_args(argv)
    from werkzeug.serving import make_server

    from local_runtime.http_base import PortInUseError
    from local_runtime.processes import check_port_free

    try:
        check_port_free(args.host, args.port, "local S3 server")
    except PortInUseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = build_app()
    server = make_server(args.host, args.port, app, threaded=True, request_handler=request_handler())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    create_buckets(url(args.host, args.port), args.bucket or [DEFAULT_BUCKET], args.region)
    app.ready.set()
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
