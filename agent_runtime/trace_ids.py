"""The trace id a response returns is the id the MLflow server stores, on servers that issue their own.

Why. The agent's client (mlflow-skinny 3.17) names a trace itself, `tr-<OpenTelemetry trace id>`,
and sends it once the trace has ended with `StartTraceV3` (`POST /api/3.0/mlflow/traces`). An
MLflow 3.0.x server — what a SageMaker tracking server with MlflowVersion "3.0" runs — has no V3
trace API (mlflow 3.0.1 `mlflow/server/handlers.py` routes only the V2 `StartTrace`/`EndTrace`):
the client gets ENDPOINT_NOT_FOUND and falls back to V2 `StartTrace`
(`RestStore._create_trace_v2_fallback`), for which the server issues a new random id
(`SqlAlchemyStore.start_trace`: `generate_request_id_v2()`). The id the response carried was never
stored: `GET` on it fails and `python -m agent_runtime.lineage <id>` answers "no trace". Servers
with the V3 API (3.10.x, what MLflow Apps run) store the client's id.

Reading one back has the same gap: the client's `get_trace` falls back from the V3 endpoint to
`GET /api/2.0/mlflow/traces/<id>`, a route an MLflow 3.0.1 server declares (GetTraceInfoV3) but
answers with a 500 (`_not_implemented`). `read_trace` uses the V2 route those servers implement,
`GET /api/2.0/mlflow/traces/<id>/info`, and the trace's spans from its artifact location.

How. On a server with only the V2 API (`server_issues_trace_ids`, decided at set-up as MLflow's
client decides it: ENDPOINT_NOT_FOUND from a V3 trace endpoint), the kit asks the server for the
trace's id when the trace starts, as MLflow 3.0's own client did (its `MlflowV2SpanProcessor`), but
in the background, overlapping the agent's first model call rather than delaying it. The response
carries that id (`TraceTagger.stored_trace_id` awaits it: normally done long before the answer).
When the trace has ended, MLflow's exporter calls `start_trace` on its `TracingClient`; the
`TracingClient` installed here (`install`) ends the server's trace instead (V2 `EndTrace`, with
the trace's tags and metadata) and uploads the spans to that trace's artifact location, named by
the server's id. A start that failed leaves MLflow's own path in place (the trace is stored under
an id no response names; the response says `trace_id: null`), is counted as a tracing failure, and
stops new starts for a minute (`RETRY_SECONDS`) so an unreachable MLflow costs one wait, not one a request.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

# Imported by Lineage.configure only, which has imported mlflow already (never at the agent's start).
from mlflow.tracing.client import TracingClient

# A syntactically valid V3 trace id that no trace has: the probe reads it (a GET, nothing is written).
PROBE_TRACE_ID = "tr-" + "0" * 32
RETRY_SECONDS = 60  # after a failed start, traces take MLflow's own path for this long


def server_issues_trace_ids(tracking_uri: str) -> bool:
    """True when the server has only MLflow's V2 trace API, so it issues trace ids itself.

    Decided as MLflow's client decides between its V3 and V2 trace calls (mlflow/store/tracking/
    rest_store.py, `get_trace_info` and `start_trace`): ENDPOINT_NOT_FOUND from the V3 endpoint.
    A server with the V3 API answers RESOURCE_DOES_NOT_EXIST for the probe's id; anything else
    raises (set-up fails and is retried: never a guess)."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import ENDPOINT_NOT_FOUND, RESOURCE_DOES_NOT_EXIST, ErrorCode
    from mlflow.protos.service_pb2 import GetTraceInfoV3
    from mlflow.utils.proto_json_utils import message_to_json
    from mlflow.utils.rest_utils import call_endpoint, get_single_trace_endpoint

    store = TracingClient(tracking_uri).store
    try:
        call_endpoint(
            store.get_host_creds(),
            get_single_trace_endpoint(PROBE_TRACE_ID, use_v3=True),
            "GET",
            message_to_json(GetTraceInfoV3(trace_id=PROBE_TRACE_ID)),
            GetTraceInfoV3.Response(),
        )
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(ENDPOINT_NOT_FOUND):
            return True
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return False
        raise
    return False


def read_trace(tracking_uri: str, trace_id: str):
    """The stored trace (`mlflow.entities.Trace`), or None when the server has no trace by that id.
    On a V2-only server a trace whose spans are not uploaded (yet) comes back without spans.

    Reads through a client of `tracking_uri` only: never `mlflow.set_tracking_uri`, which rebuilds the
    process's tracer provider, and so MLflow's trace exporter (a reader in the agent's own process would
    undo `ServerIssuedTraceIds.install`)."""
    from mlflow.entities import Trace, TraceData
    from mlflow.entities.trace_info_v2 import TraceInfoV2
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
    from mlflow.protos.service_pb2 import GetTraceInfo
    from mlflow.utils.rest_utils import call_endpoint

    client = _ClientOf(tracking_uri)
    if not server_issues_trace_ids(tracking_uri):
        try:
            return client.get_trace(trace_id)
        except MlflowException as error:
            if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
                return None
            raise
    try:
        response = call_endpoint(
            client.store.get_host_creds(),
            f"/api/2.0/mlflow/traces/{trace_id}/info",  # GetTraceInfo in mlflow 3.0.1's service.proto
            "GET",
            None,
            GetTraceInfo.Response(),
        )
    except MlflowException as error:
        if error.error_code == ErrorCode.Name(RESOURCE_DOES_NOT_EXIST):
            return None
        raise
    info = TraceInfoV2.from_proto(response.trace_info).to_v3()
    try:
        data = client._download_trace_data(info)
    except Exception:  # the spans are uploaded just after the trace is ended: not there yet, or lost
        data = TraceData(spans=[])
    return Trace(info=info, data=data)


class _ClientOf(TracingClient):
    """MLflow's TracingClient for one server, spans included: an `mlflow-artifacts:` location resolves against
    this client's tracking URI, not the process's global one (TracingClient's own lookup reads the global)."""

    def _get_artifact_repo_for_trace(self, trace_info):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        from mlflow.tracing.utils.artifact_utils import get_artifact_uri_for_trace

        return get_artifact_repository(get_artifact_uri_for_trace(trace_info), tracking_uri=self.tracking_uri)


_KEEPERS: dict[str, ServerIssuedTraceIds] = {}
_KEEPERS_LOCK = threading.Lock()


def ids_keeper(tracking_uri: str) -> ServerIssuedTraceIds:
    """The process's one keeper for `tracking_uri`. MLflow's trace exporter is process-wide, and each
    set-up rebuilds it (`mlflow.tracing.reset()`) and installs its ending client: with a keeper per
    set-up, two services in one process (a module reloaded, as tests do) could begin a trace in one
    keeper and export it through the other's, which would not know it, leave the server's trace
    IN_PROGRESS and store the spans under a second id (seen in CI)."""
    with _KEEPERS_LOCK:
        keeper = _KEEPERS.get(tracking_uri)
        if keeper is None:
            keeper = _KEEPERS[tracking_uri] = ServerIssuedTraceIds(tracking_uri)
        return keeper


class ServerIssuedTraceIds:
    """Starts each trace on the server as it starts, and ends it there when MLflow exports it."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self._store = TracingClient(tracking_uri).store
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mlflow-trace-start")
        self._lock = threading.Lock()
        self._started: dict[str, Future] = {}  # client trace id -> its V2 StartTrace (until exported)
        self._renamed: dict[str, str] = {}  # server trace id -> client trace id (until its spans are uploaded)
        self._paused_until = float("-inf")

    def install(self, exporter) -> None:
        """Put the ending client in MLflow's trace exporter (`MlflowV3SpanExporter._client`: private to
        MLflow, pinned by tests/agent_runtime/test_lineage.py)."""
        exporter._client = _EndsServerIssuedTraces(self)

    def begin(self, trace_info) -> Future | None:
        """Start the trace on the server in the background; the future's result is the server's TraceInfoV2.
        None while starts are paused after a failure."""
        if time.monotonic() < self._paused_until:
            return None
        future = self._executor.submit(
            self._store.deprecated_start_trace_v2,
            experiment_id=trace_info.experiment_id,
            timestamp_ms=trace_info.request_time,
            request_metadata={},
            tags={},
        )
        with self._lock:
            self._started[trace_info.trace_id] = future
        return future

    async def server_id(self, started: Future) -> str | None:
        """The server's id for a started trace (bounded by MLflow's HTTP timeout and retries); None if the
        start failed (starts pause). Shielded: a client that goes away does not cancel the start the export
        needs."""
        try:
            info = await asyncio.shield(asyncio.wrap_future(started))
        except asyncio.CancelledError:
            raise
        except Exception:
            self._paused_until = time.monotonic() + RETRY_SECONDS
            return None
        return info.request_id

    def _take(self, client_id: str) -> Future | None:
        with self._lock:
            return self._started.pop(client_id, None)


class _EndsServerIssuedTraces(_ClientOf):
    """MLflow's TracingClient for one server (`_ClientOf`), except for traces started on the server: those are
    ended there."""

    def __init__(self, ids: ServerIssuedTraceIds) -> None:
        super().__init__(ids.tracking_uri)
        self._ids = ids

    def start_trace(self, trace_info):
        """Called by MLflow's exporter once the trace has ended (its V3 call is a create-at-end)."""
        started = self._ids._take(trace_info.trace_id)
        if started is None or started.exception() is not None:  # not started here, or the start failed
            return super().start_trace(trace_info)
        server_id = started.result().request_id
        ended = self.store.deprecated_end_trace_v2(
            request_id=server_id,
            timestamp_ms=trace_info.request_time + (trace_info.execution_duration or 0),
            status=trace_info.status,
            request_metadata=trace_info.trace_metadata,
            tags=trace_info.tags,
        )
        with self._ids._lock:
            self._ids._renamed[server_id] = trace_info.trace_id
        return ended.to_v3()

    def _upload_trace_data(self, trace_info, trace_data) -> None:
        """The spans, stored under the server's id, name that id (they were recorded under the client's)."""
        with self._ids._lock:
            client_id = self._ids._renamed.pop(trace_info.trace_id, None)
        if client_id is None:
            return super()._upload_trace_data(trace_info, trace_data)
        from mlflow.tracing.utils import TraceJSONEncoder

        # As TracingClient._upload_trace_data serializes it; the ids are unique 35-character tokens.
        data = json.dumps(trace_data.to_dict(), cls=TraceJSONEncoder, ensure_ascii=False)
        return self._get_artifact_repo_for_trace(trace_info).upload_trace_data(
            data.replace(client_id, trace_info.trace_id)
        )
