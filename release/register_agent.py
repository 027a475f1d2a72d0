"""Register the agent version `make deploy` deploys, so the runtime finds it instead of registering it.

The version is computed exactly as the runtime computes it (agent_runtime/version.py): from the
AGENT_* variables the stacks give the Lambda function / Fargate task
(kit_config/runtime_environment.py), decoded by the runtime's own `RuntimeSettings`, the tools they
name and the package's prompt file, all from the commit being deployed (deploy requires a clean
tree). Then, in the environment's MLflow: the experiment the runtime traces into (created if
absent) and the version's LoggedModel (agent_runtime.lineage.register_version: found, not
duplicated, when the runtime or an earlier deploy registered it), tagged with the deployed commit.

The runtime looks the version up by name in the background at start (one search), so nothing has
to be passed to the stacks: a model id created after `cdk deploy` could not be in the template.
Runs after `cdk deploy` (a first deploy creates the MLflow server) and is best effort, like
release/record_deployment.py: a failure prints a warning and returns None, and the runtime then
registers the version itself, off its request path.

    python -m release.register_agent --env dev [--tracking-uri URI] [--commit SHA]
"""

from __future__ import annotations

import argparse
import os
import sys

from pydantic_settings import EnvSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from release.record_deployment import mlflow_client_environment


def runtime_settings(variables: dict[str, str]):
    """The runtime's settings for exactly these variables (not this process's environment)."""
    from agent_runtime.settings import RuntimeSettings

    class _Variables(EnvSettingsSource):
        def _load_env_vars(self):
            return parse_env_vars(variables, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    class _Exactly(RuntimeSettings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, **sources):
            return (_Variables(settings_cls),)

    return _Exactly()


def deployed_version(config, tracking_uri: str):
    """(settings, agent version, tool specs) of the runtime this config deploys."""
    from agent_runtime.tools import load_tools, tool_specs
    from agent_runtime.version import agent_version
    from kit_config.runtime_environment import runtime_environment

    settings = runtime_settings(runtime_environment(config, mlflow_tracking_uri=tracking_uri))
    specs = tool_specs(load_tools(settings.tools))
    return settings, agent_version(settings, specs), specs


def register(
    *,
    config,
    tracking_uri: str | None,
    commit: str | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> str | None:
    """The registered version's LoggedModel id, or None (warned) when it could not be registered."""
    if not tracking_uri:
        print(
            f"warning: no MLflow tracking URI for {config.name}; agent version not registered "
            "(the runtime registers it itself)",
            file=sys.stderr,
        )
        return None
    mlflow_client_environment(region=region, profile=profile)
    try:
        import mlflow

        from agent_runtime.lineage import register_version

        settings, version, specs = deployed_version(config, tracking_uri)
        client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        experiment = client.get_experiment_by_name(settings.experiment_name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(settings.experiment_name)
        tags = {"agent.registered_by": "deploy", **({"mlflow.source.git.commit": commit} if commit else {})}
        model_id, created = register_version(client, experiment_id, settings, version, specs, tags=tags)
    except Exception as error:
        print(
            f"warning: could not register the agent version in MLflow ({tracking_uri}): {error}; "
            "the runtime registers it itself",
            file=sys.stderr,
        )
        return None
    what = "registered" if created else "already registered"
    print(
        f"agent version {version} {what}: LoggedModel {model_id} in experiment "
        f"{settings.experiment_name} ({experiment_id})",
        file=sys.stderr,
    )
    return model_id


def main(argv: list[str] | None = None) -> int:
    from kit_config import ConfigError, load_environment

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--commit")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    try:
        config = load_environment(args.env)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 1
    model_id = register(
        config=config, tracking_uri=args.tracking_uri, commit=args.commit, region=config.region, profile=args.profile
    )
    return 0 if model_id else 1


if __name__ == "__main__":
    sys.exit(main())
