"""Small helpers for the local runtime tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from botocore.config import Config

from local_runtime import processes

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}
CHILD_ENV = dict(DUMMY_AWS)
INVOCATION_TIMEOUT = 1.5  # seconds; the 'timeout' scenario sleeps past it
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=20, connect_timeout=5)


class Server:
    def __init__(self, child: processes.Child):
        self.child, self.url = child, child.url


def ready(child: processes.Child, probe_url: str, timeout: float) -> Server:
    """The child as a Server once `probe_url` answers; stopped if it does not in time."""
    try:
        processes.wait_until_ready(child, probe_url, timeout)
    except BaseException:
        child.stop()
        raise
    return Server(child)


def start_server(name: str, module: str, *args: str, ready_timeout: float = 30.0) -> Server:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    child = processes.start(
        name, processes.python_module(module, "--port", str(port), *args), url, env=CHILD_ENV, quiet=True
    )
    return ready(child, f"{url}/ping", ready_timeout)


def start_mlflow(release, folder: Path, ready_timeout: float = 120.0) -> Server:
    """A real MLflow server at `release` (local_runtime.mlflow_server), from its own virtualenv."""
    from local_runtime import mlflow_server

    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    child = processes.start(
        f"MLflow {release.version} server",
        mlflow_server.command("127.0.0.1", port, folder, release=release),
        url,
        quiet=True,
        env=mlflow_server.SERVER_ENV,
    )
    return ready(child, mlflow_server.health_url("127.0.0.1", port), ready_timeout)


SESSION_BUCKET = "agent-sessions-test"


def start_s3(bucket: str = SESSION_BUCKET, ready_timeout: float = 60.0) -> Server:
    """The local S3 server (local_runtime.s3_server: moto's, conditional writes atomic) with `bucket`."""
    from local_runtime import s3_server

    port = processes.free_port()
    child = processes.start(
        "local S3 server",
        processes.python_module("local_runtime.s3_server", "--port", str(port), "--bucket", bucket),
        s3_server.url("127.0.0.1", port),
        env=CHILD_ENV,
        quiet=True,
    )
    return ready(child, s3_server.ready_url("127.0.0.1", port), ready_timeout)


def s3_client(url: str, **config):
    """A boto3 S3 client of the local S3 server at `url` (no retries: a fault shows at once)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=NO_RETRIES.merge(Config(**config)) if config else NO_RETRIES,
    )


def start_emulator(
    endpoints: list, folder: Path, invocation_timeout: float = INVOCATION_TIMEOUT, *options: str
) -> Server:
    """The emulator serving `endpoints`; `options`: more of its command line (e.g. --start-at-zero)."""
    from local_runtime.endpoints import dump_endpoints

    path = folder / "endpoints.json"
    path.write_text(dump_endpoints(endpoints), encoding="utf-8")
    return start_server(
        "SageMaker Runtime emulator",
        "local_runtime.emulator",
        "--endpoints-file",
        str(path),
        "--invocation-timeout",
        str(invocation_timeout),
        *options,
    )


def chat(text: str, stream: bool = False, **extra) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}], "stream": stream, **extra}
    )


def stream_chunks(raw: bytes) -> list[dict]:
    """The chunks of a streamed body framed as the LMI container (vLLM async mode) frames them: one
    JSON object a line, then the empty line LMI sends where vLLM sends `data: [DONE]`. Raises on any
    other framing: an SSE `data:` line, the blank line between SSE events, or `[DONE]` do not decode."""
    if not raw.endswith(b"}\n\n"):
        raise ValueError(f"not LMI's end of stream (a chunk's line, then an empty line): ...{raw[-40:]!r}")
    chunks = [json.loads(line) for line in raw[:-2].split(b"\n")]
    if not all(isinstance(chunk, dict) for chunk in chunks):
        raise ValueError("a line that is not a JSON object")
    return chunks


def sse_events(raw: bytes) -> list:
    """Decoded `data:` events of an SSE body ('[DONE]' kept as a string): what an OpenAI-compatible
    server sends (the scripted double's /v1 pose, the proxy's upstream)."""
    events = []
    for line in raw.decode("utf-8").split("\n"):
        if line.startswith("data: "):
            payload = line[len("data: ") :]
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events
