"""Real processes on loopback for the local runtime tests: model servers and the emulator.

Every process gets an ephemeral port, is waited for with a timeout, and is stopped by a
finalizer. boto3 gets dummy credentials (none exist here) and no retries, so an error surfaces
once, as botocore raises it against AWS.
"""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from kit_config.loader import load_environment
from local_runtime import processes
from local_runtime.endpoints import LocalComponent, LocalEndpoint, LocalVariant, endpoints_from_environment
from tests.local_runtime.support import (
    DUMMY_AWS,
    INVOCATION_TIMEOUT,
    NO_RETRIES,
    Server,
    start_emulator,
    start_server,
)


@pytest.fixture(scope="session")
def scripted_model():
    server = start_server("scripted model (test double)", "local_runtime.model_servers.scripted")
    yield server
    server.child.stop()


@pytest.fixture(scope="session")
def scripted_canary():
    """A second scripted server whose default scenario differs, so A/B replies show which one answered."""
    server = start_server(
        "scripted canary (test double)", "local_runtime.model_servers.scripted", "--scenario", "multi_turn"
    )
    yield server
    server.child.stop()


@pytest.fixture(scope="session")
def real_model():
    # One thread: llama.cpp's threads spin-wait on each other, and on 2 cores shared with the test
    # process two threads can stall for seconds; one is steady (speed is bench-runtime's business).
    server = start_server(
        "SmolLM2 model server",
        "local_runtime.model_servers.llama",
        "--n-ctx",
        "2048",
        "--threads",
        "1",
        ready_timeout=90,
    )
    yield server
    server.child.stop()


@pytest.fixture(scope="session")
def header_capture():
    """A container test double that records what the emulator sends it (in-process, loopback)."""
    from local_runtime.http_base import LoopbackServer, QuietHandler

    seen: list[dict] = []

    class Capture(QuietHandler):
        def do_POST(self):
            seen.append({"path": self.path, "headers": dict(self.headers), "body": self.read_body()})
            self.send_bytes(
                200, b"{}", "application/x-captured", {"X-Amzn-SageMaker-Custom-Attributes": "from=container"}
            )

    server = LoopbackServer("127.0.0.1", processes.free_port(), Capture)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def recording_model():
    """The real scripted model in-process, keeping every request body it receives (what a client sent)."""
    from local_runtime.http_base import LoopbackServer
    from local_runtime.model_servers.container import ContainerHandler
    from local_runtime.model_servers.scripted import ScriptedModel

    class Recording(ScriptedModel):
        def __init__(self):
            super().__init__()
            self.bodies: list[dict] = []

        def invoke(self, handler, body):
            self.bodies.append(json.loads(body))
            super().invoke(handler, body)

    backend = Recording()
    server = LoopbackServer(
        "127.0.0.1", processes.free_port(), type("Handler", (ContainerHandler,), {"backend": backend})
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    server.bodies = backend.bodies
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def emulator(scripted_model, scripted_canary, header_capture, recording_model, tmp_path_factory):
    dev = endpoints_from_environment(load_environment("dev"), {"primary": scripted_model.url})
    endpoints = dev + [
        LocalEndpoint(
            "ab-test",
            (
                LocalVariant("primary", scripted_model.url, weight=1.0),
                LocalVariant("canary", scripted_canary.url, weight=1.0),
            ),
        ),
        LocalEndpoint("throttled", (LocalVariant("AllTraffic", scripted_model.url),), throttle_rps=1.0),
        LocalEndpoint("capture", (LocalVariant("AllTraffic", header_capture.url),)),
        LocalEndpoint("recorded", (LocalVariant("AllTraffic", recording_model.url),)),
        LocalEndpoint("no-model", (LocalVariant("AllTraffic", f"http://127.0.0.1:{processes.free_port()}"),)),
        components_endpoint(scripted_model.url, scripted_canary.url),
    ]
    server = start_emulator(endpoints, tmp_path_factory.mktemp("emulator"))
    yield server
    server.child.stop()


MANAGED = {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2}


def components_endpoint(model_url: str, canary_url: str, name: str = "components") -> LocalEndpoint:
    """An endpoint of inference components on two variants: `echo-ic` (the scripted model, `echo`),
    `canary-ic` (the canary, `multi_turn`: which one answered shows), and `idle-ic`, which scales to
    zero (min copies 0) and which the tests scale to 0 and back."""
    return LocalEndpoint(
        name,
        (
            LocalVariant("AllTraffic", model_url, managed_instance_scaling=MANAGED),
            LocalVariant("canary", canary_url, managed_instance_scaling=MANAGED),
        ),
        account="111111111111",
        components=(
            LocalComponent("echo-ic", "AllTraffic"),
            LocalComponent("canary-ic", "canary", model_name="canary-model"),
            LocalComponent("idle-ic", "AllTraffic", min_copies=0, max_copies=2),
        ),
    )


@pytest.fixture(scope="session")
def scaling_emulators(scripted_model, scripted_canary, tmp_path_factory):
    """Two more emulators of `components_endpoint`, started as an idle endpoint (components that scale to
    zero at 0 copies) with the scale-out-from-zero step policy: one whose scale-out takes no time (the
    first refused request brings a copy at once) and one whose takes an hour (still under way for the
    test). Durations the test's speed cannot straddle."""
    servers = {
        seconds: start_emulator(
            [components_endpoint(scripted_model.url, scripted_canary.url)],
            tmp_path_factory.mktemp(f"scaling-{seconds}"),
            INVOCATION_TIMEOUT,
            "--start-at-zero",
            "--scale-out-from-zero",
            str(seconds),
        )
        for seconds in (0, 3600)
    }
    yield servers
    for server in servers.values():
        server.child.stop()


@pytest.fixture(scope="session")
def real_emulator(real_model, tmp_path_factory):
    """The dev endpoint in front of the real small model."""
    endpoints = endpoints_from_environment(load_environment("dev"), {"primary": real_model.url})
    server = start_emulator(endpoints, tmp_path_factory.mktemp("real-emulator"), invocation_timeout=60)
    yield server
    server.child.stop()


def point_boto3_at(monkeypatch, server: Server) -> None:
    """Only environment variables: boto3 and Strands stay unmodified."""
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", server.url)


@pytest.fixture
def runtime(emulator, monkeypatch):
    """An unmodified boto3 client that finds the emulator only through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME."""
    point_boto3_at(monkeypatch, emulator)
    return boto3.client("sagemaker-runtime", config=NO_RETRIES)


@pytest.fixture
def real_runtime(real_emulator, monkeypatch):
    point_boto3_at(monkeypatch, real_emulator)
    return boto3.client("sagemaker-runtime", config=NO_RETRIES)


@pytest.fixture
def control_plane(runtime):
    return boto3.client("sagemaker", config=NO_RETRIES)
