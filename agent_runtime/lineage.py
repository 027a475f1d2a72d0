"""MLflow lineage: traces tagged with what produced them, and each agent version registered once.

Set-up never runs on a request's path. `Lineage.start()` runs it in a background thread, started
when the service is created under uvicorn (worker start) and again at most once a minute while
MLflow is unreachable. On Lambda it is held until the first response has left (`set_up_now()`
from the Lambda host's post-response work, agent_runtime/lambda_handler.py): started at init, its
imports (mlflow ≈ 1–1.5 s of CPU) would compete for the GIL with the first request, which a cold
start is waiting on. Set-up: point MLflow at the tracking URI (the managed server's or App's ARN on
AWS, via the `sagemaker-mlflow` plugin; `http://127.0.0.1:5000` locally), select the environment's
experiment, find this agent version's MLflow LoggedModel by name, or register it when it is absent
(params: every setting that shapes an answer; artifacts: the prompt text and the tool schemas), then
turn on `mlflow.strands.autolog()`. `make deploy` registers the version it deploys
(release/register_agent.py), so on AWS set-up is normally two lookups. A request that starts
before set-up has finished is answered untraced and counted (`Untraced` metric); `status` says
where set-up stands (`GET /health`'s `tracing`).

Export. MLflow exports traces from its background threads (async trace logging, MLflow's default):
a span ends, and the HTTP requests to MLflow happen off the request's path. On Lambda the
environment may be frozen once the response has left and nothing is pending (the execution
environment lifecycle: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
so the Lambda host calls `drain()` after each response, before the environment may freeze
(agent_runtime/lambda_handler.py: from an internal Lambda extension, so the caller does not wait).
`drain()` hands the batch span processor's spans to MLflow's exporter and waits until its export
queue is empty, bounded; it does not call `mlflow.flush_trace_async_logging()`, which stops, joins
and restarts the export threads (its consumer's 1 s poll: ~1.1 s a call).

Trace ids. A response carries the id the MLflow server stores its trace under. Servers with the V3
trace API (the 3.10.x MLflow Apps run, for one) store the client's own id; an MLflow 3.0.x server (a
SageMaker tracking server with MlflowVersion "3.0") issues its own, so set-up detects it and the
trace is started on the server as it starts (agent_runtime/trace_ids.py).

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
# MLflow's Databricks request-header provider imports these on every request it sends (three per
# trace), to learn whether it runs on Databricks; absent, each attempt scans sys.path again (a failed
# import is not cached): ≈ 0.45 ms of CPU per request here. A None entry in sys.modules makes such an
# import fail at once (https://docs.python.org/3/reference/import.html#the-module-cache).
ABSENT_OPTIONAL_MODULES = ("dbruntime", "pyspark", "IPython")
RETRY_SETUP_SECONDS = 60  # while MLflow is unreachable, try again at most once a minute
# Fail fast when MLflow is down (its client otherwise retries for minutes): tracing is best effort.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
# MLflow's usage telemetry (on by default, decided at `import mlflow`) fetches its config from
# config.mlflow-telemetry.io and posts events there (mlflow/telemetry/client.py): a destination no
# private route serves, so from the isolated VPC every attempt waits out its timeout. The egress
# contract (governance/egress/) records it unless this is set.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


class _FailureCounter(logging.Handler):
    """Counts errors MLflow logs from its background trace export (it never raises them)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0
        self._reported = 0
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        self.add()

    def add(self) -> None:
        with self._lock:
            self.count += 1

    def take(self) -> int:
        """Failures since the last call: each request reports those since the one before it,
        including the background set-up's, so the metric's sum is every failure."""
        with self._lock:
            new, self._reported = self.count - self._reported, self.count
        return new


class Lineage:
    def __init__(
        self, settings: RuntimeSettings, agent_version: str, tool_specs: list[dict], *, held: bool = False
    ) -> None:
        self.settings, self.agent_version, self.tool_specs = settings, agent_version, tool_specs
        # Held: `start()` waits for `set_up_now()` (the Lambda host's first post-response moment).
        self.held = held
        self.enabled = False
        self.model_id: str | None = None
        # Set at set-up when the server issues trace ids itself (MLflow 3.0.x): agent_runtime/trace_ids.py.
        self.server_ids = None
        self.setup_seconds: float | None = None
        self._last_attempt = float("-inf")
        self._setup_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.failures = _FailureCounter()
        for name in ("mlflow.tracing.export", "mlflow.tracing.export.async_export_queue", "mlflow.tracing.client"):
            logging.getLogger(name).addHandler(self.failures)

    # -- setup (off the request path) -----------------------------------------------------------

    @property
    def status(self) -> str:
        """off (no tracking URI) | starting | ready | unavailable (the last attempt failed; retried)."""
        if not self.settings.mlflow_tracking_uri:
            return "off"
        if self.enabled:
            return "ready"
        thread = self._thread  # None until the first attempt's thread is running (see start)
        if thread is None or thread.is_alive():
            return "starting"
        return "unavailable"

    def start(self) -> None:
        """Start set-up in a background thread unless it is done, running, or failed under a minute ago.

        Never blocks: cheap enough to call on every request (that is how set-up is retried)."""
        if self.enabled or self.held or not self.settings.mlflow_tracking_uri:
            return
        with self._setup_lock:
            if self.enabled or (self._thread is not None and self._thread.is_alive()):
                return
            if time.monotonic() - self._last_attempt < RETRY_SETUP_SECONDS:
                return
            self._last_attempt = time.monotonic()
            thread = threading.Thread(target=self.configure, name="mlflow-setup", daemon=True)
            thread.start()
            self._thread = thread  # only once alive: a status read in between must not say "unavailable"

    def set_up_now(self, timeout: float) -> bool:
        """Release a held set-up, start it (unless running or retried under a minute ago), and wait
        up to `timeout` seconds for it; True when tracing is on."""
        self.held = False
        self.start()
        return self.wait_until_set_up(timeout)

    def wait_until_set_up(self, timeout: float) -> bool:
        """For tests and benchmarks: wait for a running set-up attempt; True when tracing is on."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.enabled

    def configure(self) -> bool:
        """One set-up attempt (blocking; `start()` runs it in the background)."""
        if not self.settings.mlflow_tracking_uri:
            return False
        started = time.perf_counter()
        try:
            import mlflow

            remember_absent_modules(ABSENT_OPTIONAL_MODULES)
            if not self.settings.mlflow_tracking_uri.startswith("arn:"):
                # sagemaker-mlflow's request-header provider warns on every call to a non-ARN URI.
                logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
            mlflow.set_tracking_uri(self.settings.mlflow_tracking_uri)
            mlflow.tracing.reset()  # MLflow's tracer provider is (re)built with the export mode above
            experiment = mlflow.set_experiment(self.settings.experiment_name)
            self.model_id, _ = register_version(
                mlflow.MlflowClient(), experiment.experiment_id, self.settings, self.agent_version, self.tool_specs
            )
            # Traces link to this LoggedModel. The variable, not set_active_model(): that one is
            # thread-local, and this thread ends; every thread's default active model reads the variable.
            os.environ["MLFLOW_ACTIVE_MODEL_ID"] = self.model_id
            mlflow.strands.autolog()
            self.server_ids = server_issued_ids(self.settings.mlflow_tracking_uri)
            self.setup_seconds = time.perf_counter() - started
            self.enabled = True
        except Exception:
            self.record_failure("MLflow is unavailable; requests run without tracing until it is back")
        return self.enabled

    # -- per request ----------------------------------------------------------------------------

    def tagger(self, tags: dict[str, str], final_tags: Callable[[], dict[str, str]]) -> TraceTagger:
        """A Strands hook that tags this request's trace (and learns its id) while the agent runs."""
        base = {
            f"{TAG_PREFIX}version": self.agent_version,
            f"{TAG_PREFIX}endpoint": self.settings.endpoint_name,
            f"{TAG_PREFIX}variant": self.settings.target_variant or "",
            # On an endpoint of inference components the component is the setting that answered.
            f"{TAG_PREFIX}inference_component": self.settings.inference_component or "",
            f"{TAG_PREFIX}env": self.settings.env_name,
            **{f"{TAG_PREFIX}{key}": value for key, value in tags.items()},
        }
        return TraceTagger(self, base, final_tags)

    def drain(self, timeout: float) -> bool:
        """Export every finished trace now; True once MLflow has them all (or nothing was pending).

        For the Lambda host, after a response and before the environment may freeze. Waits at most
        `timeout` seconds (a trace still pending then is counted as a tracing failure). MLflow's
        export threads keep running: no stop, join or restart."""
        if not self.enabled:
            return True
        try:
            from mlflow.tracing.provider import _get_span_processor

            processor = _get_span_processor()
            if processor is None:
                return True
            processor.force_flush()  # the batch span processor's spans -> the exporter, in this thread
            export_deferred(processor.span_exporter)
            queue = pending_exports(processor.span_exporter)
            if queue is None:  # async export off: each trace was exported as its root span ended
                return True
            done = exports_done(queue, timeout)
            if not done:
                self.record_failure(f"{queue.unfinished_tasks} trace exports still pending after {timeout:.1f} s")
            return done
        except Exception:
            self.record_failure("could not drain the trace export queue")
            return False

    def export_finished(self) -> None:
        """Hand MLflow's exporter the traces it deferred (`export_deferred`), at the end of each turn: without
        a next export call, a quiet agent's last trace would stay unexported (IN_PROGRESS on a 3.0.x server)."""
        if not self.enabled:
            return
        try:
            from mlflow.tracing.provider import _get_span_processor

            processor = _get_span_processor()
            if processor is not None:
                export_deferred(processor.span_exporter)
        except Exception:
            self.record_failure("could not export the deferred traces")

    def record_failure(self, message: str) -> None:
        log.warning("tracing: %s", message, exc_info=True)
        self.failures.add()


def server_issued_ids(tracking_uri: str):
    """For a server that issues trace ids (no V3 trace API: MLflow 3.0.x), the process's ids keeper, installed
    in MLflow's trace exporter; None when the server stores the client's ids."""
    from mlflow.tracing.provider import _get_span_processor, _get_tracer

    from agent_runtime.trace_ids import ids_keeper, server_issues_trace_ids

    if not server_issues_trace_ids(tracking_uri):
        return None
    ids = ids_keeper(tracking_uri)
    _get_tracer(__name__)  # MLflow builds its tracer provider (and exporter) lazily: build it now
    ids.install(_get_span_processor().span_exporter)
    return ids


def remember_absent_modules(names) -> list[str]:
    """Make later imports of the modules in `names` that are not installed fail at once; returns those."""
    import importlib.util

    absent = [name for name in names if name not in sys.modules and importlib.util.find_spec(name) is None]
    for name in absent:
        sys.modules[name] = None
    return absent


def pending_exports(exporter):
    """The `queue.Queue` of MLflow's async trace export (None when async export is off).

    Private to MLflow (`MlflowV3SpanExporter._async_queue`, an `AsyncTraceExportQueue` whose
    `_queue` holds export tasks; its workers call `task_done()` after each export), so
    tests/agent_runtime/test_lineage.py pins it: an MLflow upgrade that changes it fails there."""
    async_queue = getattr(exporter, "_async_queue", None)
    return None if async_queue is None else async_queue._queue


def export_deferred(exporter) -> None:
    """Export the traces MLflow deferred. A trace whose root span ends while a child span (another thread's)
    is still open is kept back and exported only on the exporter's next export call
    (`MlflowV3SpanExporter._export_traces`, `_deferred_root_spans`): a drain would return without it, and after
    a quiet agent's last request nothing would export it. An export call with no spans exports every deferred
    trace whose spans have all ended. Private to MLflow, pinned by tests/agent_runtime/test_lineage.py."""
    if getattr(exporter, "_deferred_root_spans", None):
        exporter._export_traces([])


def exports_done(queue, timeout: float) -> bool:
    """`queue.join()` with a bound: True once every export put on `queue` has finished."""
    with queue.all_tasks_done:
        return queue.all_tasks_done.wait_for(lambda: queue.unfinished_tasks == 0, timeout)


class TraceTagger:
    """Tags the trace Strands' spans create for one request.

    Strands records spans with its own OpenTelemetry provider and MLflow's autolog turns them into
    an MLflow trace, so MLflow's fluent `update_current_trace` does not see that trace. Inside the
    agent's span context (the hook callbacks) the current OpenTelemetry span maps to its MLflow span,
    whose in-memory trace is tagged before export.
    """

    def __init__(self, lineage: Lineage, tags: dict[str, str], final_tags: Callable[[], dict[str, str]]) -> None:
        self.lineage, self.tags, self.final_tags = lineage, tags, final_tags
        self.trace_id: str | None = None  # the client's id (MLflow names the trace as it starts)
        self._server_start = None  # the trace's start on a server that issues ids (agent_runtime/trace_ids.py)
        self.active = False  # whether this request is traced: set-up had finished when its agent was built

    def register_hooks(self, registry, **kwargs) -> None:
        if not self.lineage.enabled:
            return
        self.active = True
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
            first = self.trace_id is None
            self.trace_id = span.trace_id
            with InMemoryTraceManager.get_instance().get_trace(span.trace_id) as live:
                if live is not None and first and self.lineage.server_ids is not None:
                    self._server_start = self.lineage.server_ids.begin(live.info)
                if live is not None:
                    live.info.tags.update(tags)
                    if f"{TAG_PREFIX}request_id" in tags:
                        live.info.client_request_id = tags[f"{TAG_PREFIX}request_id"]
        except Exception:
            self.lineage.record_failure("could not tag the trace")

    async def stored_trace_id(self) -> str | None:
        """The id the MLflow server stores this request's trace under (None: untraced, or its start failed).

        The client's own id, unless the server issues ids: then the server's, from the start `_tag`
        sent in the background at the first model call (normally answered long before the last)."""
        if self.lineage.server_ids is None or self.trace_id is None:
            return self.trace_id
        if self._server_start is None:  # starts paused after a failure: the trace is not findable by an id
            return None
        server_id = await self.lineage.server_ids.server_id(self._server_start)
        if server_id is None:
            self.lineage.record_failure("could not start the trace on the MLflow server")
        return server_id


def find_version(client, experiment_id: str, agent_version: str):
    """The LoggedModel registered for this agent version, or None.

    Names are not unique in MLflow: if a race registered a version twice (deploy and a runtime at
    the same moment), everyone takes the oldest. Sorted here, not by the server: `order_by` on
    logged models differs across MLflow server versions."""
    models = client.search_logged_models(
        experiment_ids=[experiment_id], filter_string=f"name = '{agent_version}'", max_results=50
    )
    return min(models, key=lambda m: (m.creation_timestamp, m.model_id)) if models else None


def register_version(
    client,
    experiment_id: str,
    settings: RuntimeSettings,
    agent_version: str,
    tool_specs: list[dict],
    tags: dict[str, str] | None = None,
) -> tuple[str, bool]:
    """(model id, created): this version's LoggedModel, registered unless it already is.

    Shared by the runtime and `make deploy` (release/register_agent.py). Client calls only:
    `mlflow.create_external_model` imports numpy, which the image's mlflow-skinny does not have."""
    existing = find_version(client, experiment_id, agent_version)
    if existing is not None:
        return existing.model_id, False
    material = version_material(settings, tool_specs)
    params = {
        **{f"param.{k}": json.dumps(v) for k, v in material["parameters"].items()},
        **{f"endpoint.{k}": str(v) for k, v in material["endpoint"].items()},
        **{f"limit.{k}": str(v) for k, v in material["limits"].items()},
        "tools": ",".join(spec["name"] for spec in tool_specs),
        "package_version": material["package_version"],
    }
    model = client.create_logged_model(
        experiment_id,
        name=agent_version,
        params=params,
        model_type="agent",
        # mlflow.model.isExternal: what create_external_model marks (the agent's code is not in MLflow)
        tags={
            "agent.env": settings.env_name,
            "agent.version": agent_version,
            "mlflow.model.isExternal": "true",
            **(tags or {}),
        },
    )
    with tempfile.TemporaryDirectory() as scratch:
        for name, content in (
            ("system_prompt.md", material["system_prompt"]),
            ("tool_specs.json", json.dumps(tool_specs, indent=2, sort_keys=True)),
            ("version_material.json", json.dumps(material, indent=2, sort_keys=True)),
        ):
            (Path(scratch) / name).write_text(content, encoding="utf-8")
        client.log_model_artifacts(model.model_id, scratch)
    client.finalize_logged_model(model.model_id, "READY")
    return model.model_id, True


def describe_trace(trace_id: str, tracking_uri: str) -> dict:
    """The runtime context of a trace: its tags, and the registered agent version it ran."""
    import mlflow

    from agent_runtime.trace_ids import read_trace

    mlflow.set_tracking_uri(tracking_uri)
    trace = read_trace(tracking_uri, trace_id)  # on a 3.0.x server too (mlflow.get_trace is not)
    if trace is None:
        raise LookupError(f"no trace {trace_id} at {tracking_uri}")
    tags = dict(trace.info.tags)
    version = tags.get(f"{TAG_PREFIX}version")
    context = {"trace_id": trace_id, "tags": {k: v for k, v in tags.items() if k.startswith(TAG_PREFIX)}}
    # Who asked, as the pseudonymous caller id (a keyed hash; the trace never holds the principal).
    context["caller_id"] = tags.get(f"{TAG_PREFIX}caller_id")
    model = find_version(mlflow.MlflowClient(), trace.info.experiment_id, version) if version else None
    if model is not None:
        with tempfile.TemporaryDirectory() as scratch:
            material = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{model.artifact_location}/version_material.json", dst_path=scratch
                )
            )
            context["agent_version"] = {
                "name": model.name,
                "model_id": model.model_id,
                "params": model.params,
                "material": json.loads(material.read_text()),
            }
    return context


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        prog="python -m agent_runtime.lineage", description="Print the runtime context of a trace."
    )
    parser.add_argument("trace_id")
    parser.add_argument(
        "--tracking-uri", default=os.environ.get("AGENT_MLFLOW_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI")
    )
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
