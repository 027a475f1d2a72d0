"""MLflow lineage: traces tagged with what produced them, and each agent version registered once.

`configure()` points MLflow at the tracking URI (the managed server's or App's ARN on AWS, via the
`sagemaker-mlflow` plugin; `http://127.0.0.1:5000` locally), selects the environment's experiment,
turns on `mlflow.strands.autolog()` and registers the agent version as an MLflow LoggedModel
(params: every setting that shapes an answer; artifacts: the prompt text and the tool schemas).
Tracing must never fail a request: every MLflow error is caught, logged and counted.

`python -m agent_runtime.lineage TRACE_ID` prints the exact runtime context of a trace.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent_runtime.settings import RuntimeSettings
from agent_runtime.version import version_material

log = logging.getLogger(__name__)
TAG_PREFIX = "agent."
RETRY_SETUP_SECONDS = 60  # while MLflow is unreachable, try again at most once a minute
# Fail fast when MLflow is down (its client otherwise retries for minutes): tracing is best effort.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


class _FailureCounter(logging.Handler):
    """Counts errors MLflow logs from its background trace export (it never raises them)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.count += 1


class Lineage:
    def __init__(self, settings: RuntimeSettings, agent_version: str, tool_specs: list[dict]) -> None:
        self.settings, self.agent_version, self.tool_specs = settings, agent_version, tool_specs
        self.enabled = False
        self.model_id: str | None = None
        self._last_attempt = float("-inf")
        self._setup_lock = threading.Lock()
        self.failures = _FailureCounter()
        for name in ("mlflow.tracing.export", "mlflow.tracing.export.async_export_queue", "mlflow.tracing.client"):
            logging.getLogger(name).addHandler(self.failures)

    # -- setup --------------------------------------------------------------------------------

    def ensure_configured(self) -> bool:
        """Set MLflow up on first use, and again at most once a minute while it is unreachable."""
        if self.enabled or not self.settings.mlflow_tracking_uri:
            return self.enabled
        with self._setup_lock:
            if not self.enabled and time.monotonic() - self._last_attempt >= RETRY_SETUP_SECONDS:
                self._last_attempt = time.monotonic()
                self.configure()
        return self.enabled

    def configure(self) -> bool:
        if not self.settings.mlflow_tracking_uri:
            return False
        try:
            import mlflow

            if not self.settings.mlflow_tracking_uri.startswith("arn:"):
                # sagemaker-mlflow's request-header provider warns on every call to a non-ARN URI.
                logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
            mlflow.set_tracking_uri(self.settings.mlflow_tracking_uri)
            experiment = mlflow.set_experiment(self.settings.experiment_name)
            mlflow.strands.autolog()
            self.model_id = self._register_version(mlflow, experiment.experiment_id)
            mlflow.set_active_model(model_id=self.model_id)
            self.enabled = True
        except Exception:  # noqa: BLE001 - tracing is best effort by design
            self.record_failure("MLflow is unavailable; requests run without tracing until it is back")
        return self.enabled

    def _register_version(self, mlflow, experiment_id: str) -> str:
        existing = mlflow.search_logged_models(
            experiment_ids=[experiment_id], filter_string=f"name = '{self.agent_version}'", max_results=1, output_format="list"
        )
        if existing:
            return existing[0].model_id
        material = version_material(self.settings, self.tool_specs)
        params = {
            **{f"param.{k}": json.dumps(v) for k, v in material["parameters"].items()},
            **{f"endpoint.{k}": str(v) for k, v in material["endpoint"].items()},
            **{f"limit.{k}": str(v) for k, v in material["limits"].items()},
            "tools": ",".join(spec["name"] for spec in self.tool_specs),
            "package_version": material["package_version"],
        }
        model = mlflow.create_external_model(
            name=self.agent_version, params=params, experiment_id=experiment_id, model_type="agent",
            tags={"agent.env": self.settings.env_name, "agent.version": self.agent_version},
        )
        client = mlflow.MlflowClient()
        with tempfile.TemporaryDirectory() as scratch:
            for name, content in (("system_prompt.md", material["system_prompt"]),
                                  ("tool_specs.json", json.dumps(self.tool_specs, indent=2, sort_keys=True)),
                                  ("version_material.json", json.dumps(material, indent=2, sort_keys=True))):
                path = Path(scratch) / name
                path.write_text(content, encoding="utf-8")
                client.log_model_artifact(model.model_id, str(path))
        return model.model_id

    # -- per request ----------------------------------------------------------------------------

    def tagger(self, tags: dict[str, str], final_tags: Callable[[], dict[str, str]]) -> "TraceTagger":
        """A Strands hook that tags this request's trace (and learns its id) while the agent runs."""
        base = {
            f"{TAG_PREFIX}version": self.agent_version,
            f"{TAG_PREFIX}endpoint": self.settings.endpoint_name,
            f"{TAG_PREFIX}variant": self.settings.target_variant or "",
            f"{TAG_PREFIX}env": self.settings.env_name,
            **{f"{TAG_PREFIX}{key}": value for key, value in tags.items()},
        }
        return TraceTagger(self, base, final_tags)

    def flush(self) -> None:
        """Export pending traces now (a Lambda environment may freeze right after returning)."""
        if not self.enabled:
            return
        try:
            import mlflow

            mlflow.flush_trace_async_logging()
        except Exception:  # noqa: BLE001
            self.record_failure("could not flush traces")

    def record_failure(self, message: str) -> None:
        log.warning("tracing: %s", message, exc_info=True)
        with self.failures._lock:
            self.failures.count += 1


class TraceTagger:
    """Tags the trace Strands' spans create for one request.

    Strands records spans with its own OpenTelemetry provider and MLflow's autolog turns them into
    an MLflow trace, so MLflow's fluent `update_current_trace` does not see that trace. Inside the
    agent's span context (the hook callbacks) the current OpenTelemetry span maps to its MLflow span,
    whose in-memory trace is tagged before export.
    """

    def __init__(self, lineage: "Lineage", tags: dict[str, str], final_tags: Callable[[], dict[str, str]]) -> None:
        self.lineage, self.tags, self.final_tags = lineage, tags, final_tags
        self.trace_id: str | None = None

    def register_hooks(self, registry, **kwargs) -> None:
        if not self.lineage.enabled:
            return
        from strands.hooks import AfterInvocationEvent, BeforeModelCallEvent

        registry.add_callback(BeforeModelCallEvent, self._first_model_call)
        registry.add_callback(AfterInvocationEvent, self._finished)

    def _first_model_call(self, event) -> None:
        if self.trace_id is None:
            self._tag(self.tags)

    def _finished(self, event) -> None:
        self._tag({f"{TAG_PREFIX}{k}": v for k, v in self.final_tags().items()})

    def _tag(self, tags: dict[str, str]) -> None:
        try:
            from mlflow.tracing.trace_manager import InMemoryTraceManager
            from mlflow.tracing.utils import get_mlflow_span_for_otel_span
            from opentelemetry import trace

            span = get_mlflow_span_for_otel_span(trace.get_current_span())
            if span is None:
                return
            self.trace_id = span.trace_id
            with InMemoryTraceManager.get_instance().get_trace(span.trace_id) as live:
                if live is not None:
                    live.info.tags.update(tags)
                    if f"{TAG_PREFIX}request_id" in tags:
                        live.info.client_request_id = tags[f"{TAG_PREFIX}request_id"]
        except Exception:  # noqa: BLE001
            self.lineage.record_failure("could not tag the trace")


def describe_trace(trace_id: str, tracking_uri: str) -> dict:
    """The runtime context of a trace: its tags, and the registered agent version it ran."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    trace = mlflow.get_trace(trace_id)
    if trace is None:
        raise LookupError(f"no trace {trace_id} at {tracking_uri}")
    tags = dict(trace.info.tags)
    version = tags.get(f"{TAG_PREFIX}version")
    context = {"trace_id": trace_id, "tags": {k: v for k, v in tags.items() if k.startswith(TAG_PREFIX)}}
    models = mlflow.search_logged_models(
        experiment_ids=[trace.info.experiment_id], filter_string=f"name = '{version}'", max_results=1, output_format="list"
    ) if version else []
    if models:
        model = models[0]
        with tempfile.TemporaryDirectory() as scratch:
            material = Path(mlflow.artifacts.download_artifacts(
                artifact_uri=f"{model.artifact_location}/version_material.json", dst_path=scratch))
            context["agent_version"] = {"name": model.name, "model_id": model.model_id, "params": model.params,
                                        "material": json.loads(material.read_text())}
    return context


def main(argv: list[str]) -> int:
    import argparse
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="python -m agent_runtime.lineage", description="Print the runtime context of a trace.")
    parser.add_argument("trace_id")
    parser.add_argument("--tracking-uri", default=os.environ.get("AGENT_MLFLOW_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI"))
    args = parser.parse_args(argv)
    if not args.tracking_uri:
        parser.error("set --tracking-uri or AGENT_MLFLOW_TRACKING_URI")
    try:
        print(json.dumps(describe_trace(args.trace_id, args.tracking_uri), indent=2, sort_keys=True))
    except LookupError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
