"""The Lambda entry point fed real Function URL and API Gateway event payloads, in-process,
through the emulator to the scripted model (test double): the same ASGI app as on Fargate.

The function runs with AGENT_AUTH_MODE=iam, as behind a Function URL with AuthType AWS_IAM: the
caller is the event's `requestContext.authorizer.iam.userArn` (payload format 2.0,
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads)."""

from __future__ import annotations

import base64
import copy
import importlib
import json
import os
from pathlib import Path

import pytest

from tests.agent_runtime.conftest import LambdaProcess, SlowMlflow

EVENTS = Path(__file__).parent / "events"


class Context:
    """The fields of Lambda's context object that Mangum and Powertools read."""

    function_name = "governed-agents-dev-agent"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:governed-agents-dev-agent"
    aws_request_id = "c1d2e3f4-0000-4000-8000-0000000000aa"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


@pytest.fixture(scope="module")
def handler(agent_env):
    saved = dict(os.environ)  # the runtime sets MLflow variables (the active model): keep them here
    try:
        os.environ.update({**agent_env, "AWS_LAMBDA_FUNCTION_NAME": Context.function_name, "AGENT_AUTH_MODE": "iam"})
        import agent_runtime.lambda_handler

        module = importlib.reload(agent_runtime.lambda_handler)
        # MLflow set-up runs in the background from init; these tests want it done (test_cold_start.py
        # covers requests that arrive before).
        assert module.handler.app.state.service.lineage.wait_until_set_up(120)
        yield module.handler
    finally:
        os.environ.clear()
        os.environ.update(saved)


PORTAL = "arn:aws:sts::111111111111:assumed-role/portal/portal"  # the signer in function_url.json
# Who that signer is with AGENT_IAM_CALLER=role (the default): the role, its session name dropped.
PORTAL_CALLER = "iam:arn:aws:sts::111111111111:assumed-role/portal"
OTHER = "arn:aws:sts::111111111111:assumed-role/partner-app/partner-app"


def event(name: str, body: dict | str | None = None, caller: str | None = None) -> dict:
    payload = copy.deepcopy(json.loads((EVENTS / name).read_text()))
    if caller is not None:  # another SigV4-verified principal, as Lambda would put it in the event
        iam = payload["requestContext"]["authorizer"]["iam"]
        iam["userArn"], iam["callerId"] = caller, f"AROAOTHER:{caller.rsplit('/', 1)[1]}"
    if body is not None:
        raw = body if isinstance(body, str) else json.dumps(body)
        if payload.get("isBase64Encoded"):
            payload["body"] = base64.b64encode(raw.encode()).decode()
        else:
            payload["body"] = raw
    return payload


def decoded(response: dict) -> dict:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


def test_function_url_event_is_answered(handler):
    response = handler(event("function_url.json"), Context())
    assert response["statusCode"] == 200
    answer = decoded(response)
    assert answer["answer"] == "You said: hello from a function URL"
    assert len(answer["session_id"]) == 32 and answer["request_id"] == "req-function-url-1"
    assert answer["trace_id"]  # traced (and, without the Runtime API, exported before the handler returned)


def test_an_event_without_an_iam_authorizer_is_refused(handler):
    """API Gateway's REST event carries `requestContext.identity`, which a stage without IAM auth fills
    in too: only a Function URL's SigV4-verified `authorizer.iam` names a caller."""
    response = handler(event("api_gateway_rest.json"), Context())
    assert response["statusCode"] == 401 and decoded(response)["error"]["code"] == "Unauthorized"
    unsigned = event("function_url.json")
    del unsigned["requestContext"]["authorizer"]  # AuthType NONE would deliver this
    unsigned["headers"]["authorization"] = "Bearer anything"  # headers are the client's: never an identity here
    response = handler(unsigned, Context())
    assert response["statusCode"] == 401 and response["headers"]["www-authenticate"] == "Bearer"


def test_a_second_invocation_in_the_same_environment_reuses_the_session(handler):
    first = decoded(handler(event("function_url.json", {"prompt": "[scenario:multi_turn] one"}), Context()))
    second = handler(
        event("function_url.json", {"prompt": "[scenario:multi_turn] two", "session_id": first["session_id"]}),
        Context(),
    )
    assert first["answer"] == "Turn 1: one" and decoded(second)["answer"] == "Turn 2: two"


def test_another_principal_gets_404_for_a_session_and_cannot_continue_it(handler):
    first = decoded(handler(event("function_url.json", {"prompt": "[scenario:multi_turn] portal's"}), Context()))
    session = first["session_id"]
    stolen = handler(
        event("function_url.json", {"prompt": "[scenario:multi_turn] steal", "session_id": session}, OTHER), Context()
    )
    nobody = handler(
        event("function_url.json", {"prompt": "[scenario:multi_turn] steal", "session_id": "0" * 32}, OTHER), Context()
    )
    assert stolen["statusCode"] == nobody["statusCode"] == 404
    assert stolen["body"] == nobody["body"] and stolen["headers"] == nobody["headers"]  # no existence oracle
    assert decoded(stolen)["error"]["code"] == "SessionNotFound"
    again = decoded(
        handler(event("function_url.json", {"prompt": "[scenario:multi_turn] mine", "session_id": session}), Context())
    )
    assert again["answer"] == "Turn 2: mine"  # the owner continues; the other principal's attempts left no turn


def test_a_principal_at_its_turn_limit_gets_429_while_another_gets_through(handler):
    """The limit holds across Lambda environments: slots held by the principal's turns elsewhere (here taken
    directly in the shared session store, as other environments' requests would hold them) refuse the next."""
    from agent_runtime.identity import Pseudonyms
    from agent_runtime.sessions import caller_slot

    settings = handler.app.state.service.settings
    portal = Pseudonyms(settings).compute(PORTAL_CALLER)
    held = [caller_slot(settings, portal) for _ in range(settings.max_turns_per_caller)]
    try:
        refused = handler(event("function_url.json", {"prompt": "one more"}), Context())
        assert refused["statusCode"] == 429 and refused["headers"]["retry-after"] == "2"
        assert decoded(refused)["error"]["code"] == "TooManyTurns"
        assert handler(event("function_url.json", {"prompt": "another caller"}, OTHER), Context())["statusCode"] == 200
    finally:
        for slot in held:
            slot.release()
    assert handler(event("function_url.json", {"prompt": "freed"}), Context())["statusCode"] == 200


@pytest.mark.parametrize(
    "body, status, code",
    [
        ("{broken", 400, "InvalidJson"),
        ({"prompt": "hi", "session_id": "no"}, 400, "InvalidSessionId"),
        ({"prompt": "[scenario:throttle] hi"}, 429, "Throttled"),
    ],
)
def test_errors_are_json_with_the_documented_status(handler, body, status, code):
    response = handler(event("function_url.json", body), Context())
    assert response["statusCode"] == status
    assert decoded(response)["error"]["code"] == code


def test_a_body_over_the_limit_is_refused_on_lambda_too(handler):
    """Mangum hands the app the event's whole body as one chunk, declared by no Content-Length: the
    API's count (it reads bodies chunk by chunk, agent_runtime/api.py `read_body`) refuses it."""
    payload = event("function_url.json", {"prompt": "x" * 40000})
    assert "content-length" not in payload["headers"]
    response = handler(payload, Context())
    assert response["statusCode"] == 413 and decoded(response)["error"]["code"] == "RequestTooLarge"


def test_streaming_route_returns_the_whole_sse_body_on_lambda(handler):
    payload = event("function_url.json", {"prompt": "stream on lambda"})
    payload["rawPath"] = payload["requestContext"]["http"]["path"] = "/invoke/stream"
    response = handler(payload, Context())
    body = base64.b64decode(response["body"]).decode() if response.get("isBase64Encoded") else response["body"]
    assert (
        response["statusCode"] == 200
        and "event: token" in body
        and body.rstrip().split("\n\n")[-1].startswith("event: final")
    )


def test_without_the_runtime_api_the_handler_exports_before_it_returns_without_the_flush_stall(
    handler, mlflow_url, monkeypatch
):
    """The fallback (no AWS_LAMBDA_RUNTIME_API, as here): each handler drains MLflow's export queue
    before returning, so N requests leave N complete traces the moment the last handler returns, with
    no `flush_trace_async_logging` (it stops and restarts the export threads, ~1.1 s a call)."""
    import threading

    import mlflow

    stalls = []
    flush = mlflow.flush_trace_async_logging
    monkeypatch.setattr(mlflow, "flush_trace_async_logging", lambda *a, **k: (stalls.append(1), flush(*a, **k)))
    from agent_runtime.identity import Pseudonyms

    n = 10
    caller_id = Pseudonyms(handler.app.state.service.settings).compute(PORTAL_CALLER)
    answers, consumers = [], []  # MLflow's export consumer threads alive after each request
    for i in range(n):
        response = handler(event("function_url.json", {"prompt": f"burst {i}"}), Context())
        assert response["statusCode"] == 200
        answers.append(decoded(response))
        consumers.append({t for t in threading.enumerate() if t.name == "MLflowTraceLoggingConsumer"})
    # Immediately: no sleep, no polling, no flush. Each read is what the tracking store holds now, by the id
    # the answer carried (the server's own on a 3.0.x server: agent_runtime/trace_ids.py).
    from agent_runtime.trace_ids import read_trace

    traces = [read_trace(mlflow_url, answer["trace_id"]) for answer in answers]
    assert all(traces), f"{sum(t is None for t in traces)} of {n} traces missing when the last handler returned"
    for answer, trace in zip(answers, traces, strict=True):
        assert trace.info.state == "OK"
        root = next(span for span in trace.data.spans if span.parent_id is None)
        assert root.end_time_ns is not None and root.status.status_code == "OK"
        tags = trace.info.tags
        assert tags["agent.session_id"] == answer["session_id"] and tags["agent.version"] == answer["agent_version"]
        assert tags["agent.model_calls"] == "1" and tags["agent.request_id"] == answer["request_id"]
        # The caller, pseudonymous: an auditor follows it across traces; the trace never holds the ARN.
        assert tags["agent.caller_id"] == caller_id and not [v for v in tags.values() if "assumed-role" in str(v)]
    # MLflow's export threads kept running: the same consumer threads after every request, never restarted.
    assert stalls == []
    assert consumers[-1] and all(seen == consumers[-1] for seen in consumers)
    assert all(t.is_alive() for t in consumers[-1])


def test_with_the_extension_the_caller_does_not_wait_for_the_export_and_nothing_is_lost_to_a_freeze(
    agent_env, mlflow_url
):
    """The real handler in a fresh process with the Lambda Runtime API test double: its internal
    extension registers at init and calls Next only once the invocation's traces are stored. MLflow is
    reached through a proxy that holds every request for 0.4 s (test double), so an export on the
    handler's path would add at least 0.4 s per request, and one still in flight at Next would be missing
    from the real server, which the host reads directly at that moment."""
    delay = 0.4
    proxy = SlowMlflow(mlflow_url, delay)
    try:
        lam = LambdaProcess({**agent_env, "AGENT_MLFLOW_TRACKING_URI": proxy.url})
        prompts = [f"freeze check {i}" for i in range(4)]
        results = lam.run(*prompts, "--wait-for-tracing", "120", "--check-at-freeze", mlflow_url)
    finally:
        proxy.close()
    assert [r["status"] for r in results] == [200] * len(prompts)
    assert all(r["tracing"] == "ready" and r["body"]["trace_id"] for r in results)
    from agent_runtime.trace_ids import server_issues_trace_ids

    # A server that issues trace ids (MLflow 3.0.x, what dev runs) answers the trace's start, which the
    # response carries (agent_runtime/trace_ids.py): at most one held request, overlapping the turn. The
    # export (end + spans: two more held requests) is never on the handler's path.
    waited = 1 if server_issues_trace_ids(mlflow_url) else 0
    for number, result in enumerate(results, start=1):
        if number > 1:  # the first also builds the model client (test_cold_start.py); the warm ones do not
            assert result["handler_ms"] < (waited + 1) * delay * 1000, result  # never waits on the export
        at_freeze = result["at_freeze"]
        assert len(at_freeze) == number  # every trace of this environment so far, as the server holds it
        for stored, answer in zip(at_freeze, [r["body"] for r in results[:number]], strict=True):
            assert stored["stored"], (number, stored)
            assert stored["state"] in ("OK", "TraceState.OK") and stored["spans"] >= 2 and stored["ended"], stored
            assert stored["tags"]["agent.session_id"] == answer["session_id"]
            assert stored["tags"]["agent.request_id"] == answer["request_id"]
            assert stored["tags"]["agent.model_calls"] == "1"
        assert result["post_response_ms"] >= delay * 1000, result  # the export ran after the response
