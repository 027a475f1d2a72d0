"""Starting, probing and stopping the local runtime's child processes (shared by `make local` and tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

from local_runtime.http_base import PortInUseError

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy


def check_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUseError(f"{what}: port {port} on {host} is already in use (choose another port)") from None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    url: str

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM to the child's process group (MLflow has workers), SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
            except ProcessLookupError:
                pass
        return self.process.returncode


def start(name: str, args: list[str], url: str, env: dict | None = None, quiet: bool = False) -> Child:
    """A child in its own session: Ctrl-C reaches only the supervisor, which then stops children in order.
    `env` is laid over this process's environment; a variable given as None is left out."""
    output = subprocess.DEVNULL if quiet else None
    environment = {name: value for name, value in {**os.environ, **(env or {})}.items() if value is not None}
    process = subprocess.Popen(args, env=environment, start_new_session=True, stdout=output, stderr=output)
    return Child(name, process, url)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def answers(url: str, timeout: float = 2.0, accept=None) -> bool:
    """True when a loopback `url` answers 200 (and `accept(body)`, if given, is true)."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return response.status == 200 and (accept is None or bool(accept(response.read())))
    except (OSError, ValueError):
        return False


def wait_until_ready(child: Child, probe_url: str, timeout: float, accept=None) -> None:
    """Poll `probe_url` until it answers 200 (and `accept(body)`); fail early if the child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with code {child.process.returncode} before it was ready")
        if answers(probe_url, accept=accept):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{child.name} was not ready at {probe_url} within {timeout:.0f} s")
