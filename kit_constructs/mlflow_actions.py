"""Which IAM action authorizes each MLflow REST call the kit's MLflow clients make on AWS.

On SageMaker managed MLflow every REST call is SigV4-signed and authorized by IAM as a
`sagemaker-mlflow:<Action>` on the tracking server's or MLflow App's ARN (an App's calls also need
`sagemaker:CallMlflowAppApi`). A call whose action is not granted fails with AccessDenied, which
MLflow's tracing swallows: tracing silently stops in production while local tests (a local MLflow
server has no IAM) pass. `coverage_gaps` checks recorded calls against a grant;
tests/kit_constructs/test_mlflow_iam_covers_runtime.py feeds it every call the agent runtime makes
against a real local MLflow server.

Sources:
- Service Authorization Reference, "Actions, resources, and condition keys for Amazon SageMaker
  with MLflow": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemakerwithmlflow.html
  (the complete action list, `SERVICE_AUTHORIZATION_ACTIONS`; actions carry operation names, and
  "When you use an action in a policy, you usually allow or deny access to the API operation ...
  with the same name").
- SageMaker developer guide, "Set up IAM permissions for MLflow" / "IAM actions supported for
  MLflow": https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-create-tracking-server-iam.html
  (the same names, without the trace actions).
- The REST paths: the installed MLflow's server routes (`mlflow.server.app.url_map`,
  `mlflow/server/handlers.py` `get_endpoints`) and client (`mlflow/store/tracking/rest_store.py`).

Neither AWS page says which action authorizes an MLflow operation that has no action of its own
name (CreateLoggedModel, the v3 trace APIs, OTLP span ingestion). Those entries are marked
`ASSUMED` and map to the listed action(s) nearest in meaning, all of which are granted (the
conservative reading); never `sagemaker-mlflow:*`.

Client and server versions differ: the runtime pins a newer MLflow client than a tracking server's
`mlflow_version` "3.0" (MLflow 3.0.0's server has no /api/3.0 routes), so which calls it makes
depends on the server: against 3.0 it falls back from StartTraceV3 to v2 StartTrace + EndTrace, and
asks `/version` before OTLP span logging (>= 3.4 only). The table covers both paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Every action the Service Authorization Reference lists for the `sagemaker-mlflow` prefix
# (URL above). IAM accepts a misspelt action without complaint, so grants are checked against it.
SERVICE_AUTHORIZATION_ACTIONS = frozenset(
    f"sagemaker-mlflow:{name}"
    for name in (
        "AccessUI",
        "CreateExperiment",
        "CreateModelVersion",
        "CreateRegisteredModel",
        "CreateRun",
        "DeleteExperiment",
        "DeleteLoggedModel",
        "DeleteLoggedModelTag",
        "DeleteModelVersion",
        "DeleteModelVersionTag",
        "DeleteRegisteredModel",
        "DeleteRegisteredModelAlias",
        "DeleteRegisteredModelTag",
        "DeleteRun",
        "DeleteTag",
        "DeleteTraceTag",
        "DeleteTraces",
        "EndTrace",
        "FinalizeLoggedModel",
        "GetDownloadURIForModelVersionArtifacts",
        "GetExperiment",
        "GetExperimentByName",
        "GetLatestModelVersions",
        "GetLoggedModel",
        "GetMetricHistory",
        "GetModelVersion",
        "GetModelVersionByAlias",
        "GetRegisteredModel",
        "GetRun",
        "GetTraceInfo",
        "ListArtifacts",
        "ListLoggedModelArtifacts",
        "LogBatch",
        "LogInputs",
        "LogLoggedModelParams",
        "LogMetric",
        "LogModel",
        "LogOutputs",
        "LogParam",
        "RenameRegisteredModel",
        "RestoreExperiment",
        "RestoreRun",
        "SearchExperiments",
        "SearchLoggedModels",
        "SearchModelVersions",
        "SearchRegisteredModels",
        "SearchRuns",
        "SearchTraces",
        "SetExperimentTag",
        "SetLoggedModelTags",
        "SetModelVersionTag",
        "SetRegisteredModelAlias",
        "SetRegisteredModelTag",
        "SetTag",
        "SetTraceTag",
        "StartTrace",
        "TransitionModelVersionStage",
        "UpdateExperiment",
        "UpdateModelVersion",
        "UpdateRegisteredModel",
        "UpdateRun",
    )
)

# How an entry's mapping is known.
NAMED = "named"  # an action of the operation's own name is listed (the reference's convention)
ASSUMED = "assumed"  # no action of that name is listed: the nearest listed action(s), all granted
NO_ACTION = "no-action"  # not authorized as a sagemaker-mlflow action on AWS (see the entry's note)


@dataclass(frozen=True)
class RestCall:
    method: str
    path: str  # `{name}` matches one path segment, `{name*}` the rest of the path
    operation: str  # MLflow's name for the call (its protobuf message or server route)
    actions: tuple[str, ...]  # every one of them is needed (candidates: the conservative reading)
    basis: str  # NAMED, ASSUMED or NO_ACTION
    note: str = ""

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and _pattern(self.path).fullmatch(path) is not None

    @property
    def placeholders(self) -> int:
        return self.path.count("{")


def _pattern(template: str) -> re.Pattern:
    regex = re.escape(template)
    regex = re.sub(r"\\\{\w+\\\*\\\}", r".+", regex)
    regex = re.sub(r"\\\{\w+\\\}", r"[^/]+", regex)
    return re.compile(regex)


def _a(*names: str) -> tuple[str, ...]:
    return tuple(f"sagemaker-mlflow:{name}" for name in names)


_S3 = (
    "Local only: the local server proxies artifacts (`mlflow server --artifacts-destination`). On AWS "
    "artifact locations are under the S3 ArtifactStoreUri and the sagemaker-mlflow plugin's s3 repository "
    "(0.5.0: direct S3 unless SAGEMAKER_PRESIGNED_URL_UPLOAD_ENABLED) reads and writes S3 itself, "
    "authorized by the artifact bucket grants (grant_tracing: write, grant_read: read), not by MLflow."
)
_V2_FALLBACK = (
    "MLflow 3.0.0's server has no /api/3.0 trace routes: the client's StartTraceV3 gets 404 and it falls "
    "back to the v2 StartTrace + EndTrace pair (a SageMaker tracking server with mlflow_version 3.0)."
)

REST_CALLS: tuple[RestCall, ...] = (
    # experiments (mlflow.set_experiment)
    RestCall("GET", "/api/2.0/mlflow/experiments/get-by-name", "GetExperimentByName", _a("GetExperimentByName"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/experiments/create", "CreateExperiment", _a("CreateExperiment"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/experiments/get", "GetExperiment", _a("GetExperiment"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/experiments/search", "SearchExperiments", _a("SearchExperiments"), NAMED),
    # logged models (the agent version: search, create_external_model, log_model_artifact, set_active_model)
    RestCall("POST", "/api/2.0/mlflow/logged-models/search", "SearchLoggedModels", _a("SearchLoggedModels"), NAMED),
    RestCall(
        "POST",
        "/api/2.0/mlflow/logged-models",
        "CreateLoggedModel",
        _a("LogModel"),
        ASSUMED,
        "No CreateLoggedModel action is listed; LogModel is the listed action that creates a model "
        "(the guide lists it; its description says 'log the model associated with a run').",
    ),
    RestCall("GET", "/api/2.0/mlflow/logged-models/{model_id}", "GetLoggedModel", _a("GetLoggedModel"), NAMED),
    RestCall(
        "PATCH", "/api/2.0/mlflow/logged-models/{model_id}", "FinalizeLoggedModel", _a("FinalizeLoggedModel"), NAMED
    ),
    RestCall(
        "POST",
        "/api/2.0/mlflow/logged-models/{model_id}/params",
        "LogLoggedModelParams",
        _a("LogLoggedModelParams"),
        NAMED,
        "Only for params beyond the first 100 (sent with CreateLoggedModel).",
    ),
    RestCall(
        "PATCH", "/api/2.0/mlflow/logged-models/{model_id}/tags", "SetLoggedModelTags", _a("SetLoggedModelTags"), NAMED
    ),
    RestCall(
        "GET",
        "/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories",
        "ListLoggedModelArtifacts",
        _a("ListLoggedModelArtifacts"),
        NAMED,
    ),
    # traces, MLflow >= 3.x servers (v3 API; OTLP span ingestion from 3.4)
    RestCall(
        "GET",
        "/version",
        "server version",
        (),
        NO_ACTION,
        "Not an MLflow REST operation; no action covers it (undocumented whether SageMaker answers it). "
        "The client asks before OTLP span logging: no answer or a version < 3.4 means no OTLP calls.",
    ),
    RestCall(
        "POST",
        "/v1/traces",
        "OTLP ExportTraceServiceRequest (log_spans)",
        _a("StartTrace"),
        ASSUMED,
        "No action is listed for OTLP span ingestion; StartTrace is the listed action that writes trace "
        "data. Made only when the server reports version >= 3.4 (local server; possibly an MLflow App). "
        "If it is denied the client logs at debug level and StartTraceV3 still records the trace.",
    ),
    RestCall(
        "POST",
        "/api/3.0/mlflow/traces",
        "StartTraceV3",
        _a("StartTrace", "EndTrace"),
        ASSUMED,
        "No v3 action is listed. One StartTraceV3 call, made when the trace ends, replaces the v2 "
        "StartTrace + EndTrace pair, so both are granted. The client falls back to v2 only on a 404 "
        "ENDPOINT_NOT_FOUND, not on AccessDenied.",
    ),
    RestCall(
        "GET",
        "/api/3.0/mlflow/traces/{trace_id}",
        "GetTraceInfoV3",
        _a("GetTraceInfo"),
        ASSUMED,
        "No v3 action is listed; the v2 operation of the same meaning is GetTraceInfo.",
    ),
    RestCall(
        "GET",
        "/api/3.0/mlflow/traces/get",
        "GetTrace",
        _a("GetTraceInfo"),
        ASSUMED,
        "No GetTrace action is listed; it returns the trace with its spans. On a 3.0 server the path "
        "would match /traces/{trace_id} (GetTraceInfo). Called only for spans held by the tracking store.",
    ),
    RestCall(
        "PATCH",
        "/api/3.0/mlflow/traces/{trace_id}/tags",
        "SetTraceTagV3",
        _a("SetTraceTag"),
        ASSUMED,
        "No v3 action is listed; the v2 operation of the same meaning is SetTraceTag.",
    ),
    RestCall(
        "POST",
        "/api/3.0/mlflow/traces/search",
        "SearchTracesV3",
        _a("SearchTraces"),
        ASSUMED,
        "No v3 action is listed; the v2 operation of the same meaning is SearchTraces.",
    ),
    # traces, v2 API (the client's fallback on MLflow 3.0 servers)
    RestCall("POST", "/api/2.0/mlflow/traces", "StartTrace", _a("StartTrace"), NAMED, _V2_FALLBACK),
    RestCall("PATCH", "/api/2.0/mlflow/traces/{request_id}", "EndTrace", _a("EndTrace"), NAMED, _V2_FALLBACK),
    RestCall("GET", "/api/2.0/mlflow/traces/{request_id}/info", "GetTraceInfo", _a("GetTraceInfo"), NAMED),
    RestCall("PATCH", "/api/2.0/mlflow/traces/{request_id}/tags", "SetTraceTag", _a("SetTraceTag"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/traces", "SearchTraces", _a("SearchTraces"), NAMED),
    # runs (granted for run logging; the agent runtime does not start runs)
    RestCall("POST", "/api/2.0/mlflow/runs/create", "CreateRun", _a("CreateRun"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/update", "UpdateRun", _a("UpdateRun"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/runs/get", "GetRun", _a("GetRun"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/search", "SearchRuns", _a("SearchRuns"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/log-batch", "LogBatch", _a("LogBatch"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/log-metric", "LogMetric", _a("LogMetric"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/log-parameter", "LogParam", _a("LogParam"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/set-tag", "SetTag", _a("SetTag"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/log-model", "LogModel", _a("LogModel"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/log-inputs", "LogInputs", _a("LogInputs"), NAMED),
    RestCall("POST", "/api/2.0/mlflow/runs/outputs", "LogOutputs", _a("LogOutputs"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/metrics/get-history", "GetMetricHistory", _a("GetMetricHistory"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/artifacts/list", "ListArtifacts", _a("ListArtifacts"), NAMED),
    # registered models (granted for mlflow.register_model; the agent runtime does not register)
    RestCall("GET", "/api/2.0/mlflow/registered-models/get", "GetRegisteredModel", _a("GetRegisteredModel"), NAMED),
    RestCall(
        "POST", "/api/2.0/mlflow/registered-models/create", "CreateRegisteredModel", _a("CreateRegisteredModel"), NAMED
    ),
    RestCall(
        "GET", "/api/2.0/mlflow/registered-models/search", "SearchRegisteredModels", _a("SearchRegisteredModels"), NAMED
    ),
    RestCall(
        "POST",
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        "GetLatestModelVersions",
        _a("GetLatestModelVersions"),
        NAMED,
    ),
    RestCall(
        "GET", "/api/2.0/mlflow/registered-models/alias", "GetModelVersionByAlias", _a("GetModelVersionByAlias"), NAMED
    ),
    RestCall("POST", "/api/2.0/mlflow/model-versions/create", "CreateModelVersion", _a("CreateModelVersion"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/model-versions/get", "GetModelVersion", _a("GetModelVersion"), NAMED),
    RestCall("GET", "/api/2.0/mlflow/model-versions/search", "SearchModelVersions", _a("SearchModelVersions"), NAMED),
    RestCall(
        "GET",
        "/api/2.0/mlflow/model-versions/get-download-uri",
        "GetDownloadURIForModelVersionArtifacts",
        _a("GetDownloadURIForModelVersionArtifacts"),
        NAMED,
    ),
    # the local server's artifact proxy
    RestCall("PUT", "/api/2.0/mlflow-artifacts/artifacts/{artifact_path*}", "UploadArtifact", (), NO_ACTION, _S3),
    RestCall("GET", "/api/2.0/mlflow-artifacts/artifacts/{artifact_path*}", "DownloadArtifact", (), NO_ACTION, _S3),
    RestCall("GET", "/api/2.0/mlflow-artifacts/artifacts", "ListArtifacts (proxy)", (), NO_ACTION, _S3),
    RestCall(
        "GET",
        "/api/3.0/mlflow/server-info",
        "server info",
        (),
        NO_ACTION,
        "Local only: asked by the mlflow-artifacts repository (multipart upload capabilities). " + _S3,
    ),
)


def rest_call_for(method: str, path: str) -> RestCall | None:
    """The table entry for a concrete call: the matching entry with the fewest placeholders."""
    matching = [call for call in REST_CALLS if call.matches(method, path)]
    if not matching:
        return None
    fewest = min(call.placeholders for call in matching)
    best = [call for call in matching if call.placeholders == fewest]
    if len(best) > 1:
        raise ValueError(f"{method} {path} matches several entries: {[c.path for c in best]}")
    return best[0]


def coverage_gaps(calls: Iterable[tuple[str, str]], granted: Iterable[str], per_call: Iterable[str] = ()) -> list[str]:
    """What a grant misses for these (method, path) calls: unmapped calls and ungranted actions.

    `per_call`: actions every MLflow API call needs besides its own (an App's sagemaker:CallMlflowAppApi).
    """
    granted, per_call = set(granted), tuple(per_call)
    gaps = []
    for method, path in dict.fromkeys(calls):
        entry = rest_call_for(method, path)
        if entry is None:
            gaps.append(f"{method} {path}: not in REST_CALLS (which IAM action authorizes it?)")
            continue
        needed = entry.actions + (per_call if entry.actions else ())
        if missing := [action for action in needed if action not in granted]:
            gaps.append(f"{method} {path} ({entry.operation}): needs {', '.join(missing)}")
    return gaps
