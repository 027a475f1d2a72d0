"""Drive the agent runtime's real code paths under the connection recorder; print where each went.

Run as `python -m governance.egress.probe` in a process whose environment is exactly the deployed
host's (the stack's AGENT_* variables, the variables Lambda or Fargate sets, fake credentials):
`governance.egress.deployment.AgentDeployment.probe_environment()` builds it, and
`run_probe()` starts this module with it. Imports happen here, after the environment is set, as
they do on the host (MLflow, for one, decides at import whether to send telemetry).

Each task is one code path of the runtime, called as the service calls it; the recorder stops it
at its first connection (governance/egress/recorder.py), so a task records the host its client
resolved, then ends. Output: one JSON object, {task: [host, ...]}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from governance.egress.recorder import ConnectionRecorder, EgressBlocked

# Arguments a task needs that no environment variable carries (what a caller or MLflow would send).
PRINCIPAL = "arn:aws:sts::111122223333:assumed-role/caller/session"
TRACE_ID = "tr-0123456789abcdef0123456789abcdef"
SESSION_ID = "0123456789abcdef0123456789abcdef"


def _credentials() -> None:
    """The credential chain as the host runs it (Fargate: the task role's endpoint; Lambda: variables)."""
    import boto3

    credentials = boto3.Session().get_credentials()
    if credentials is not None:
        credentials.get_frozen_credentials()


def _service():
    from agent_runtime.service import AgentService
    from agent_runtime.settings import RuntimeSettings

    return AgentService(RuntimeSettings(), hold_tracing_setup=True)  # set-up is its own task below


def _session_admission() -> None:
    """A turn on an existing session: is it this caller's (S3 HeadObject on the session bucket)?"""
    service = _service()
    service.admit(service.request("hello", SESSION_ID, None, "caller"))


def _session_store() -> None:
    """The session's history: Strands' S3SessionManager as the service builds it."""
    from agent_runtime.sessions import session_manager

    session_manager(_service().settings, "caller", SESSION_ID)


def _model_call() -> None:
    """One model call: the service's SageMakerAIModel, streaming."""
    service = _service()

    async def call() -> None:
        await service._start()
        async for _ in service._model.stream([{"role": "user", "content": [{"text": "hello"}]}]):
            pass

    asyncio.run(call())


def _caller_id() -> None:
    """The caller's pseudonym: KMS GenerateMac with the caller-id key (agent_runtime.identity)."""
    from agent_runtime.identity import Pseudonyms
    from agent_runtime.settings import RuntimeSettings

    Pseudonyms(RuntimeSettings()).compute(PRINCIPAL)


def _tracing_setup() -> None:
    """MLflow set-up (experiment, agent version), as the service runs it in the background."""
    service = _service()
    try:
        service.lineage.configure()
    finally:
        _wait_for_mlflow_background_work()


def _artifact_store() -> None:
    """MLflow's artifact repository for the tracking server's artifact store: where the client uploads
    the agent version's artifacts (register_version) and trace data, and reads them back (lineage).
    The artifact URI is the one the server hands out, under the resource's ArtifactStoreUri."""
    import os

    import mlflow
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    tracking_uri = os.environ["AGENT_MLFLOW_TRACKING_URI"]
    mlflow.set_tracking_uri(tracking_uri)
    repository = get_artifact_repository(
        f"{os.environ['EGRESS_PROBE_ARTIFACT_STORE_URI']}/1/traces/{TRACE_ID}/artifacts", tracking_uri=tracking_uri
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "traces.json"
        path.write_text("{}")
        repository.log_artifact(str(path))


def _lineage_cli() -> None:
    """`python -m agent_runtime.lineage TRACE_ID` (`agent-lineage`), shipped in the agent's image."""
    from agent_runtime.lineage import main

    try:
        main([TRACE_ID])
    finally:
        _wait_for_mlflow_background_work()


def _mlflow_telemetry() -> None:
    """MLflow's usage telemetry, as the first MLflow call that succeeds starts it: the client (made at
    `import mlflow` unless telemetry is disabled) activates on its first event and fetches its config
    (mlflow/telemetry/client.py, TelemetryClient.activate). Imported after agent_runtime.lineage, whose
    import sets the runtime's MLflow defaults, as in the service."""
    import agent_runtime.lineage  # noqa: F401, I001 - the runtime's MLflow environment defaults, first
    import mlflow  # noqa: F401 - makes the telemetry client (mlflow/__init__.py: set_telemetry_client())
    from mlflow.telemetry.client import get_telemetry_client

    client = get_telemetry_client()
    if client is not None:
        client.activate()
        _wait_for_mlflow_background_work()


def _wait_for_mlflow_background_work() -> None:
    """MLflow's telemetry fetches its config in a thread of its own when first used
    (mlflow/telemetry/client.py, TelemetryClient._fetch_config): wait for it, so what it reaches is
    recorded in this task (the recorder stops it at once)."""
    try:
        from mlflow.telemetry.client import get_telemetry_client
    except ImportError:
        return
    client = get_telemetry_client()
    thread = getattr(client, "_config_thread", None)
    if thread is not None:
        thread.join()


TASKS: dict[str, Callable[[], None]] = {
    "credentials": _credentials,
    "session-admission": _session_admission,
    "session-store": _session_store,
    "model-call": _model_call,
    "caller-id": _caller_id,
    "tracing-setup": _tracing_setup,
    "artifact-store": _artifact_store,
    "lineage-cli": _lineage_cli,
    "mlflow-telemetry": _mlflow_telemetry,
}


def main(names: list[str]) -> int:
    recorded: dict[str, list[str]] = {}
    for name in names:
        with ConnectionRecorder() as recorder:
            try:
                TASKS[name]()
            except EgressBlocked:
                pass
            except Exception as error:  # the path ended without a connection; say how
                recorded.setdefault(f"{name}!error", []).append(f"{type(error).__name__}: {error}")
        recorded[name] = sorted(recorder.hosts())
    print(json.dumps(recorded, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(TASKS)))
