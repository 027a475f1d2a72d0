"""Record a deployment in the environment's MLflow, so lineage reaches infrastructure.

One run per deployment in the experiment `infrastructure-deployments`: run name
`<env>-<commit8>`, tags `mlflow.source.git.commit` (MLflow's own lineage tag, the same one agent
versions carry), `kit.environment`, `kit.deployed_commit`, `kit.stacks`, `kit.deployed_by`.
Find the infrastructure an agent version ran on by searching runs with the same commit.

On AWS the tracking URI is the Mlflow stack's `TrackingUri` output (the tracking server's or
MLflow App's ARN; the `sagemaker-mlflow` plugin signs the calls with the deploying profile).
Best effort: a failure prints a warning and returns False — the deployment already happened.

    python -m release.record_deployment --env dev --commit SHA --tracking-uri URI [--stack dev-Agent ...]
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime

EXPERIMENT = "infrastructure-deployments"


def tracking_uri_from_outputs(outputs: dict, environment: str) -> str | None:
    """The `TrackingUri` output of `<env>-Mlflow` in a `cdk deploy --outputs-file` document."""
    for stack_name, values in outputs.items():
        if stack_name.split("/")[-1] in (f"{environment}-Mlflow", "Mlflow") and isinstance(values, dict):
            for key, value in values.items():
                if key.startswith("TrackingUri"):
                    return value
    return None


def mlflow_client_environment(*, region: str | None, profile: str | None) -> None:
    """Credentials and region for the SageMaker MLflow auth plugin; a deploy step fails fast, not after MLflow's default retries."""
    if profile:
        os.environ.setdefault("AWS_PROFILE", profile)
    if region:
        os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


def record(
    *,
    environment: str,
    commit: str,
    tracking_uri: str | None,
    stacks: list[str],
    region: str | None = None,
    profile: str | None = None,
) -> bool:
    if not tracking_uri:
        print(
            f"warning: no MLflow tracking URI for {environment}; deployment of {commit[:12]} not recorded",
            file=sys.stderr,
        )
        return False
    mlflow_client_environment(region=region, profile=profile)
    try:
        import mlflow

        client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
        run = client.create_run(
            experiment_id,
            run_name=f"{environment}-{commit[:8]}",
            tags={
                "mlflow.source.git.commit": commit,
                "mlflow.source.type": "JOB",
                "kit.environment": environment,
                "kit.deployed_commit": commit,
                "kit.stacks": ",".join(stacks),
                "kit.deployed_by": _who(),
                "kit.deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        client.set_terminated(run.info.run_id, status="FINISHED")
    except Exception as error:
        print(f"warning: could not record the deployment in MLflow ({tracking_uri}): {error}", file=sys.stderr)
        return False
    print(
        f"recorded deployment {environment}@{commit[:12]} in MLflow run {run.info.run_id} ({EXPERIMENT})",
        file=sys.stderr,
    )
    return True


def _who() -> str:
    try:
        return os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    parser.add_argument("--stack", action="append", default=[])
    parser.add_argument("--region")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    ok = record(
        environment=args.env,
        commit=args.commit,
        tracking_uri=args.tracking_uri,
        stacks=args.stack or [f"{args.env}/*"],
        region=args.region,
        profile=args.profile,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
