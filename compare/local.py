"""The local endpoint the comparison measures: one local stack serving every setting of the env's
endpoint (each variant its own model server behind the SageMaker Runtime emulator), and, per
setting, the agent pinned to it.

The stack is `local_runtime.launcher.LocalStack` without its agent (`--no-agent`), on free ports,
reading the scratch config folder in which the endpoint has two variants (compare.settings.
local_config_dir); `--variant-model` picks each variant's model server (real SmolLM2 or the
scripted double). MLflow: a `make local` one already answering on :5000, else the stack's own on
the lasting `.local/mlflow` folder (as `make eval` and `make loadtest` do), so the runs stay.

Each setting's agent is started the way `make local` starts its agent (local_runtime's
`start_agent`: the env's AGENT_* settings, a fresh local identity, ready and tracing), with the
setting's pin and price as overrides, and stopped when its evaluation is done: one agent runs at a
time, so the settings never share the machine while measured.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from compare.settings import Setting, local_config_dir
from kit_config.loader import CONFIG_DIR_ENV_VAR, config_dir, load_environment
from kit_config.project import PROJECT_DIR
from local_runtime import mlflow_server
from local_runtime.launcher import MAKE_LOCAL, LocalStack

EVALUATOR = "compare"  # the caller name the evaluation uses against the local agent
LASTING_MLFLOW_DIR = PROJECT_DIR / mlflow_server.DEFAULT_DIR


def variant_models(environment_variants: list[str], default: str, overrides: list[str]) -> dict[str, str]:
    """{variant: model kind}: `default` for every variant (the `challenger` the comparison adds included:
    it differs in a setting, not in the model), `NAME=KIND` overrides one."""
    kinds = dict.fromkeys(environment_variants, default)
    for item in overrides:
        name, _, kind = item.partition("=")
        kinds[name] = kind
    return kinds


class LocalEndpoint:
    """Start with `with`; `.environment`, `.runtime_url`, `.tracking_uri`; `.agent(setting)` per setting."""

    def __init__(
        self,
        scratch: Path,
        env: str,
        *,
        model: str,
        overrides: list[str],
        tracking_uri: str | None,
        agent_settings: dict[str, str],
        echo=None,
    ) -> None:
        self.scratch, self.env, self.echo = Path(scratch), env, echo
        self.config_dir = local_config_dir(config_dir(), env, self.scratch)
        self.environment = load_environment(env, self.config_dir)
        names = [variant.name for variant in self.environment.inference.variants]
        self.models = variant_models(names, model, overrides)
        self.agent_settings = agent_settings
        running = None if tracking_uri else (MAKE_LOCAL.mlflow_url if MAKE_LOCAL.mlflow_answers() else None)
        self._given_tracking = tracking_uri or running
        self.stack = LocalStack(
            self.scratch / "stack",
            env=env,
            model=model,
            agent=False,
            mlflow=self._given_tracking is None,
            mlflow_dir=LASTING_MLFLOW_DIR,
            extra_args=tuple(
                arg for name, kind in self.models.items() for arg in ("--variant-model", f"{name}={kind}")
            ),
            echo=echo,
        )
        self._previous_config_dir: str | None = None

    @property
    def runtime_url(self) -> str:
        return self.stack.runtime_url

    @property
    def tracking_uri(self) -> str:
        return self._given_tracking or self.stack.mlflow_url

    def __enter__(self) -> LocalEndpoint:
        # The stack's processes read the env's config from the scratch folder (two variants).
        self._previous_config_dir = os.environ.get(CONFIG_DIR_ENV_VAR)
        os.environ[CONFIG_DIR_ENV_VAR] = str(self.config_dir)
        try:
            self.stack.start()
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stack.stop()
        finally:
            self._restore()

    def _restore(self) -> None:
        if self._previous_config_dir is None:
            os.environ.pop(CONFIG_DIR_ENV_VAR, None)
        else:
            os.environ[CONFIG_DIR_ENV_VAR] = self._previous_config_dir

    @contextlib.contextmanager
    def agent(self, setting: Setting) -> Iterator[tuple[str, dict[str, str]]]:
        """The agent pinned to `setting`, as make local starts it; yields (agent URL, caller headers)."""
        from local_runtime import __main__ as local_main
        from local_runtime.processes import free_port

        folder = self.scratch / f"agent-{setting.name}"
        overrides = {
            **self.agent_settings,
            **setting.agent_pin(),
            "AGENT_MLFLOW_TRACKING_URI": self.tracking_uri,
            # The agent's own cost estimate (the cost_within_budget scorer) at this setting's price.
            "AGENT_INSTANCE_HOURLY_USD": str(setting.hourly_usd),
        }
        port = free_port()
        args = local_main.parse_args(
            [
                "--env",
                self.env,
                "--agent-port",
                str(port),
                "--sessions",
                "files",
                "--session-dir",
                str(folder / "sessions"),
                "--identity-dir",
                str(folder / "identity"),
                *(arg for name, value in overrides.items() for arg in ("--agent-setting", f"{name}={value}")),
            ]
        )
        children = []
        try:
            identity = local_main.start_agent(args, self.environment, self.runtime_url, children)
            yield f"http://{args.host}:{port}", identity.headers(EVALUATOR)
        finally:
            for child in reversed(children):
                child.stop()
