"""Which agent and MLflow the evaluation talks to.

In order: an `--agent-url` the user gives (a deployed agent, or any running one); a `make local`
stack already answering on the default ports (agent :8000, MLflow :5000); otherwise a local stack
started for this run (local_runtime.launcher.LocalStack) and stopped after it. A started stack
keeps its MLflow data in `.local/mlflow/` (the same folder `make local` uses), so results outlive
the run and two agent versions can be compared later.

Credentials: with `--agent-url`, the bearer token in `AGENT_TOKEN` (one your identity provider
issued for the agent's audience); with a local stack, a token of its own identity provider.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.agent_client import AgentUnreachable, bearer, health
from kit_config.project import PROJECT_DIR
from local_runtime import mlflow_server
from local_runtime.launcher import MAKE_LOCAL

LASTING_MLFLOW_DIR = PROJECT_DIR / mlflow_server.DEFAULT_DIR
EVALUATOR = "evaluation"  # the caller name the evaluation uses against a local stack


class TargetError(Exception):
    """No agent or no MLflow to evaluate with; the message names the flag to fix."""


@dataclass(frozen=True)
class Target:
    agent_url: str
    tracking_uri: str
    origin: str  # how it was found, for the summary
    headers: dict = field(default_factory=dict)  # the caller's credentials, sent with every turn


@dataclass(frozen=True)
class StackOptions:
    """The stack started when nothing is running."""

    env: str = "dev"
    model: str = "real"
    proxy_base_url: str | None = None
    max_tokens: int = 96  # short answers keep 20+ cases within minutes on a CPU
    request_timeout_seconds: int = 120
    mlflow_dir: Path = LASTING_MLFLOW_DIR


@contextlib.contextmanager
def resolve_target(agent_url: str | None, tracking_uri: str | None, stack: StackOptions, echo=None) -> Iterator[Target]:
    tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if agent_url:
        try:
            health(agent_url)
        except AgentUnreachable as error:
            raise TargetError(f"--agent-url: {error}") from None
        if not tracking_uri:
            raise TargetError(
                "--tracking-uri: required with --agent-url (the MLflow the agent traces to: "
                "its tracking server/App ARN on AWS, or http://127.0.0.1:5000 locally)"
            )
        yield Target(agent_url, tracking_uri, "--agent-url", bearer(os.environ.get("AGENT_TOKEN")))
        return
    mlflow_up = MAKE_LOCAL.mlflow_answers()
    if MAKE_LOCAL.agent_answers() and (mlflow_up or tracking_uri):
        yield Target(
            MAKE_LOCAL.agent_url,
            tracking_uri or MAKE_LOCAL.mlflow_url,
            "the running `make local` stack",
            MAKE_LOCAL.identity().headers(EVALUATOR),
        )
        return
    yield from _started_stack(stack, tracking_uri or (MAKE_LOCAL.mlflow_url if mlflow_up else None), echo)


def _started_stack(options: StackOptions, running_mlflow: str | None, echo) -> Iterator[Target]:
    from local_runtime.launcher import LocalStack

    settings = {
        "AGENT_MAX_TOKENS": str(options.max_tokens),
        "AGENT_REQUEST_TIMEOUT_SECONDS": str(options.request_timeout_seconds),
        "AGENT_READ_TIMEOUT_SECONDS": str(options.request_timeout_seconds),
    }
    if running_mlflow:  # an MLflow already serves the lasting folder: trace there, start no second one
        settings["AGENT_MLFLOW_TRACKING_URI"] = running_mlflow
    extra = ("--proxy-base-url", options.proxy_base_url) if options.proxy_base_url else ()
    with tempfile.TemporaryDirectory(prefix="agent-eval-") as scratch:
        stack = LocalStack(
            Path(scratch),
            env=options.env,
            model=options.model,
            mlflow=running_mlflow is None,
            mlflow_dir=options.mlflow_dir,
            agent_settings=settings,
            extra_args=extra,
            echo=echo,
        )
        try:
            stack.start()
        except (RuntimeError, TimeoutError) as error:
            raise TargetError(
                f"could not start the local stack (--env {options.env} --model {options.model}): {error}"
            ) from None
        try:
            yield Target(
                stack.agent_url,
                running_mlflow or stack.mlflow_url,
                f"a local stack started for this run (model {options.model}, max_tokens {options.max_tokens})",
                stack.identity().headers(EVALUATOR),
            )
        finally:
            stack.stop()


def check_tracking(tracking_uri: str) -> None:
    """Fail early, naming the flag, when the MLflow tracking server does not answer."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    try:
        mlflow.search_experiments(max_results=1)
    except Exception as error:
        raise TargetError(
            f"--tracking-uri: MLflow at {tracking_uri} does not answer ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200] if str(error) else ''})"
        ) from None
