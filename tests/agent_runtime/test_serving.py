"""`python -m agent_runtime` as the Fargate task runs it: uvicorn's keep-alive from AGENT_KEEP_ALIVE_SECONDS
and TLS with a certificate of its own (AGENT_TLS=self_signed).

Behind an Application Load Balancer the target must keep idle connections open longer than the load
balancer does, or the load balancer reuses a connection the target has just closed and answers 502 itself
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout).
The process tests below hold a connection idle past a keep-alive and see who closed it.
"""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent_runtime.__main__ import server_options
from agent_runtime.server_tls import self_signed_certificate
from kit_config.project import PROJECT_DIR
from local_runtime import processes
from tests.agent_runtime.conftest import IDENTITY


def test_keep_alive_defaults_to_uvicorns_and_comes_from_the_setting(env):
    import inspect

    import uvicorn

    default = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    assert server_options()["timeout_keep_alive"] == default == 5
    env.setenv("AGENT_KEEP_ALIVE_SECONDS", "125")
    assert server_options()["timeout_keep_alive"] == 125


@pytest.mark.parametrize(
    ("stack", "loop", "protocol"),
    [("uvloop", "uvloop", "HttpToolsProtocol"), ("asyncio", "asyncio", "H11Protocol")],
)
def test_the_server_stack_is_named_and_uvicorn_loads_it(env, stack, loop, protocol):
    """The image's default is uvloop + httptools (`make bench-agent` phase 5), named rather than uvicorn's "auto",
    which would fall back to asyncio + h11 without a word if either package were missing from the image."""
    import uvicorn

    if stack != "uvloop":
        env.setenv("AGENT_SERVER_STACK", stack)
    options = server_options()
    assert (options["loop"], options.get("ssl_certfile")) == (loop, None)

    async def app(scope, receive, send):  # uvicorn loads an app with its protocol: any ASGI app will do
        pass

    config = uvicorn.Config(app, **options)
    config.load()  # imports the HTTP protocol class: fails here if the package is not installed
    assert config.http_protocol_class.__name__ == protocol
    new_loop = config.get_loop_factory()()  # the loop uvicorn serves on (fails if uvloop is not installed)
    try:
        assert type(new_loop).__module__.split(".")[0] == loop
    finally:
        new_loop.close()


def test_self_signed_tls_gives_uvicorn_a_fresh_certificate_and_a_private_key(env):
    env.setenv("AGENT_TLS", "self_signed")
    options = server_options()
    certificate, key = Path(options["ssl_certfile"]), Path(options["ssl_keyfile"])
    assert certificate.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert key.stat().st_mode & 0o777 == 0o600  # the key never leaves the task and only its user reads it
    assert Path(server_options()["ssl_keyfile"]).read_bytes() != key.read_bytes()  # a key pair per process
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)  # a pair the TLS stack accepts


def test_a_certificate_is_written_once_into_its_directory(tmp_path):
    self_signed_certificate(tmp_path)
    with pytest.raises(FileExistsError):  # O_EXCL: never over a key someone else placed there
        self_signed_certificate(tmp_path)


def _serve(tmp_path: Path, **variables: str) -> tuple[subprocess.Popen, int]:
    port = processes.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENT_")},
        **IDENTITY.agent_settings(),
        "AGENT_ENDPOINT_NAME": "governed-agents-staging-llm",
        "AGENT_SESSION_DIR": str(tmp_path / "sessions"),
        **variables,
    }
    with (tmp_path / "agent.log").open("ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "agent_runtime", "--port", str(port)],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port


def _connect(port: int, tls: bool) -> http.client.HTTPConnection:
    if tls:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ssl._create_unverified_context())
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5)


def _health(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/health")
    response = connection.getresponse()
    response.read()
    return response.status


def _wait_until_up(process: subprocess.Popen, port: int, tls: bool, tmp_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "agent.log").read_text()[-3000:]
        try:
            connection = _connect(port, tls)
            if _health(connection) == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError((tmp_path / "agent.log").read_text()[-3000:])


def _idle_connection_survives(port: int, tls: bool, idle_seconds: float) -> bool:
    """Whether a kept-alive connection still serves a request after `idle_seconds` without traffic,
    as the load balancer's pooled connection to the target would."""
    connection = _connect(port, tls)
    try:
        assert _health(connection) == 200
        time.sleep(idle_seconds)
        try:
            return _health(connection) == 200
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return False
    finally:
        connection.close()


@pytest.mark.local_stack
@pytest.mark.parametrize("tls", [False, True], ids=["http", "self-signed-tls"])
def test_the_server_closes_idle_connections_only_after_its_keep_alive(tmp_path, tls):
    """uvicorn's default (5 s) below the load balancer's idle timeout is the 502 race: the target closes
    first. With the keep-alive above the idle time the connection is still there to be reused."""
    variables = {"AGENT_TLS": "self_signed"} if tls else {}
    servers = {}
    try:
        for name, keep_alive in (("short", "1"), ("long", "30")):
            folder = tmp_path / name
            folder.mkdir()
            servers[name] = (*_serve(folder, **variables, AGENT_KEEP_ALIVE_SECONDS=keep_alive), folder)
        for process, port, folder in servers.values():
            _wait_until_up(process, port, tls, folder)
        idle = 3.0
        assert not _idle_connection_survives(
            servers["short"][1], tls, idle
        )  # closed by the target: a 502 behind an ALB
        assert _idle_connection_survives(servers["long"][1], tls, idle)
    finally:
        for process, _, _ in servers.values():
            process.terminate()
            process.wait(30)


@pytest.mark.local_stack
def test_plain_http_is_refused_by_a_tls_server(tmp_path):
    """A client (or a misconfigured target group) speaking HTTP to the TLS port gets no answer it could take
    for the agent's: bearer tokens never go out in clear to it."""
    process, port = _serve(tmp_path, AGENT_TLS="self_signed")
    try:
        _wait_until_up(process, port, True, tmp_path)
        connection = _connect(port, tls=False)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine)):
            _health(connection)
    finally:
        process.terminate()
        process.wait(30)
