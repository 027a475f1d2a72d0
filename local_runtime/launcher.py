"""Start the whole local stack (`python -m local_runtime`) in the background, for tools that need it.

`make demo`, `make loadtest PROFILE=smoke` and `make eval` start their own stack on free
loopback ports (throwaway data, or a lasting MLflow folder they name), use it, and stop it, so
they never collide with a `make local` the user already has running (`MAKE_LOCAL` finds one):

    with LocalStack(scratch_dir, model="real", agent_settings={"AGENT_MAX_TOKENS": "160"}) as stack:
        stack.agent_url, stack.runtime_url, stack.mlflow_url
        stack.identity().headers("alice")  # a bearer token of the stack's local identity provider
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kit_config.project import PROJECT_DIR
from local_runtime import mlflow_server, processes
from local_runtime.emulator import DEFAULT_PORT as DEFAULT_RUNTIME_PORT
from local_runtime.identity import DEFAULT_DIR as DEFAULT_IDENTITY_DIR
from local_runtime.identity import LocalIdentity
from local_runtime.processes import answers

READY_LINE = "is up"  # printed by local_runtime.__main__.print_summary once every child answers
DEFAULT_AGENT_PORT = 8000


@dataclass(frozen=True)
class RunningStack:
    """A `make local` stack the user already runs, on its default ports (Makefile AGENT_PORT,
    RUNTIME_PORT, MLFLOW_PORT): tools use it rather than start a second one."""

    agent_url: str = f"http://127.0.0.1:{DEFAULT_AGENT_PORT}"
    runtime_url: str = f"http://127.0.0.1:{DEFAULT_RUNTIME_PORT}"
    mlflow_url: str = f"http://127.0.0.1:{mlflow_server.DEFAULT_PORT}"
    identity_dir: Path = PROJECT_DIR / DEFAULT_IDENTITY_DIR  # `make local` runs from the project folder

    def identity(self) -> LocalIdentity:
        return LocalIdentity.load(self.identity_dir)

    def agent_answers(self) -> bool:
        return answers(f"{self.agent_url}/health", timeout=1.0)

    def runtime_answers(self) -> bool:
        return answers(f"{self.runtime_url}/ping", timeout=1.0)

    def mlflow_answers(self) -> bool:
        return answers(mlflow_server.health_url("127.0.0.1", mlflow_server.DEFAULT_PORT), timeout=1.0)


MAKE_LOCAL = RunningStack()


class LocalStack:
    """The supervisor as a child process group; `stop()` (or leaving the `with`) stops all of it."""

    def __init__(
        self,
        scratch_dir: Path,
        *,
        env: str = "dev",
        model: str = "real",
        agent: bool = True,
        mlflow: bool = True,
        mlflow_dir: Path | None = None,
        agent_settings: dict[str, str] | None = None,
        sessions: str = "s3",
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 300.0,
        echo=None,
    ) -> None:
        self.scratch_dir, self.env, self.model = Path(scratch_dir), env, model
        self.agent, self.mlflow = agent, mlflow
        # Throwaway by default; a tool whose runs should outlive it passes a lasting folder.
        self.mlflow_dir = Path(mlflow_dir) if mlflow_dir else self.scratch_dir / "mlflow"
        self.agent_settings = dict(agent_settings or {})
        self.sessions = sessions  # "s3" (the local S3 server, as on AWS) or "files" (scratch_dir/sessions)
        self.extra_args, self.start_timeout = tuple(extra_args), start_timeout
        self.echo = echo  # callable(line) for the supervisor's output, or None to keep it quiet
        self.ports = {name: processes.free_port() for name in ("runtime", "model", "mlflow", "agent", "s3")}
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    # -- addresses --------------------------------------------------------------------------------
    @property
    def runtime_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['runtime']}"

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['agent']}"

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['mlflow']}"

    @property
    def identity_dir(self) -> Path:
        return self.scratch_dir / "identity"

    def identity(self) -> LocalIdentity:
        """The stack's identity provider (its supervisor wrote the keys on start)."""
        return LocalIdentity.load(self.identity_dir)

    # -- lifecycle --------------------------------------------------------------------------------
    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "local_runtime",
            "--env",
            self.env,
            "--model",
            self.model,
            "--port",
            str(self.ports["runtime"]),
            "--model-port",
            str(self.ports["model"]),
            "--mlflow-port",
            str(self.ports["mlflow"]),
            "--mlflow-dir",
            str(self.mlflow_dir),
            "--agent-port",
            str(self.ports["agent"]),
            "--sessions",
            self.sessions,
            "--s3-port",
            str(self.ports["s3"]),
            "--session-dir",
            str(self.scratch_dir / "sessions"),
            "--identity-dir",
            str(self.identity_dir),
            *self.extra_args,
        ]
        if not self.agent:
            command.append("--no-agent")
        if not self.mlflow:
            command.append("--no-mlflow")
        for name, value in self.agent_settings.items():
            command += ["--agent-setting", f"{name}={value}"]
        return command

    def start(self) -> LocalStack:
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        # Own process group: stop() reaches the supervisor and, through it, every child.
        self.process = subprocess.Popen(
            self.command(),
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue = queue.Queue()

        def pump() -> None:
            for line in self.process.stdout:
                self.output.append(line)
                if self.echo:
                    self.echo(line.rstrip("\n"))
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                if READY_LINE in lines.get(timeout=1):
                    return self
            except queue.Empty:
                if self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(
                        f"the local stack exited with code {self.process.returncode}:\n{''.join(self.output[-20:])}"
                    ) from None
        self.stop()
        raise TimeoutError(f"the local stack did not come up within {self.start_timeout:.0f} s")

    def stop(self, grace: float = 60.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
