"""Every fault the scripted model (test double) can produce, and MLflow down, with the whole outcome
asserted on both routes: the documented status (`/invoke`'s JSON error, or the last SSE event of
`/invoke/stream`), the trace's state in MLflow, the `Errors`/`Throttled` metrics the agent prints as
EMF, and the session afterwards (a failed turn leaves nothing in it; the next turn works and sees only
the complete turns).

Real processes on loopback (tests/agent_runtime/conftest.py): the agent, the SageMaker Runtime
emulator (invocation timeout 2 s), the scripted model, a real MLflow server at dev's release. The
agent's own boto3 client and Strands provider read every stream over the real wire protocol.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass

import pytest

from tests.agent_runtime.conftest import AgentProcess, bearer, turn


@dataclass(frozen=True)
class Fault:
    scenario: str  # the marker's content: `[scenario:<this>]` in the prompt
    status: int  # the documented status (README "Agent runtime", Callers table)
    code: str | None = None  # the error body's code; None: the turn answers
    retry_after: str | None = None
    streamed: str = ""  # the text `/invoke/stream` sent as tokens before the fault (after_tokens=3)


PROMPT = "one two three four five six seven"  # longer than the faults' after_tokens (3)
FAULTS = [
    Fault("throttle", 429, "Throttled", "5"),
    Fault("server_error", 502, "ModelError"),
    # The emulator gives up after 2 s (conftest: invocation_timeout); the model stays silent 6 s, well
    # past it, and frees its thread soon after (the scenario's default is 65 s, past AWS's 60 s).
    Fault("timeout;sleep_s=6", 504, "UpstreamTimeout"),
    Fault("stream_break", 502, "ModelError", streamed="You said: one"),
    Fault("malformed_chunk", 502, "ModelError", streamed="You said: one"),
    # A failure the model reports after its stream started, in a stream that still ends with HTTP 200,
    # in each form an endpoint sends it (agent_runtime.model.stream_failure): vLLM's error line as LMI's
    # vLLM async mode passes it on (JSON lines), the same line from vLLM's own server (SSE), and LMI's
    # own error object (rolling batch, a failing formatter); `split=1` cuts every line across two parts.
    Fault("stream_error", 502, "ModelError", streamed="You said: one"),
    Fault("stream_error;framing=sse", 502, "ModelError", streamed="You said: one"),
    Fault("stream_error;error=lmi;split=1", 502, "ModelError", streamed="You said: one"),
    # A line that is not JSON is skipped (Strands' provider): harmless, the whole answer comes back.
    Fault("malformed_event", 200, streamed=f"You said: {PROMPT}"),
]
ROUTES = ["/invoke", "/invoke/stream"]


def stream_turn(agent, prompt: str, session: str, request_id: str) -> tuple[int, list[tuple[str, dict]]]:
    """One turn on `/invoke/stream`: the HTTP status and the SSE events, in order."""
    request = urllib.request.Request(
        f"{agent.url}/invoke/stream",
        data=json.dumps({"prompt": prompt, "session_id": session}).encode(),
        headers={"Content-Type": "application/json", "X-Request-Id": request_id, **bearer("tester")},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, sse_events(response.read().decode())


def sse_events(raw: str) -> list[tuple[str, dict]]:
    events = []
    for block in raw.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def new_emf_records(agent: AgentProcess, seen: int, timeout: float = 10) -> list[dict]:
    """The EMF records the agent printed after the first `seen`. A turn publishes its record before it
    answers, but the line may reach the log file just after the answer."""
    deadline = time.monotonic() + timeout
    while not (records := agent.emf_records()[seen:]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return records


def finished_trace(tracking_uri: str, request_id: str, timeout: float = 30):
    """The request's one trace, once MLflow's background export has ended it (state no longer IN_PROGRESS).
    Found by its `agent.request_id` tag: a failed turn's answer names no trace."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name("governed-agents-dev-agent")
    deadline = time.monotonic() + timeout
    while True:
        traces = mlflow.search_traces(
            locations=[experiment.experiment_id],
            filter_string=f"tags.`agent.request_id` = '{request_id}'",
            return_type="list",
        )
        if traces and all(trace.info.state.value != "IN_PROGRESS" for trace in traces):
            assert len(traces) == 1, [trace.info.trace_id for trace in traces]
            return traces[0]
        if time.monotonic() > deadline:
            pytest.fail(f"no finished trace for {request_id} within {timeout} s: {traces}")
        time.sleep(0.3)


@dataclass
class Outcome:
    """What one faulted turn produced, as a client and an operator see it."""

    request_id: str
    session: str
    status: int
    headers: dict  # /invoke only
    body: dict | None  # /invoke: the JSON answer or error
    events: list[tuple[str, dict]] | None  # /invoke/stream: the SSE events
    emf: list[dict]  # the metric records the turn published
    after: tuple[int, dict]  # the next turn on the same session: status, body


def run_fault(agent: AgentProcess, fault: Fault, route: str) -> Outcome:
    """A complete turn, the faulted turn on the same session, then one more turn."""
    session = turn(agent.url, "[scenario:multi_turn] first")[2]["session_id"]
    request_id = f"fault-{fault.scenario}-{route}".replace("/", "_").replace(";", "_").replace("=", "-")
    prompt = f"[scenario:{fault.scenario}] {PROMPT}"
    seen = len(agent.emf_records())
    if route == "/invoke":
        status, headers, body = turn(agent.url, prompt, session, headers={"X-Request-Id": request_id})
        events = None
    else:
        (status, events), headers, body = stream_turn(agent, prompt, session, request_id), {}, None
    emf = new_emf_records(agent, seen)
    after = turn(agent.url, "[scenario:multi_turn] after", session)
    return Outcome(request_id, session, status, headers, body, events, emf, (after[0], after[2]))


@pytest.fixture(scope="module")
def outcomes(agent) -> dict[tuple[str, str], Outcome]:
    """Every fault on every route, run once for the module. The tests then wait for the traces, which the
    agent's MLflow exports in batches every few seconds: one wait for all of them, not one each."""
    return {(fault.scenario, route): run_fault(agent, fault, route) for fault in FAULTS for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.scenario for fault in FAULTS])
def test_a_fault_has_its_documented_outcome_everywhere(outcomes, mlflow_url, fault, route):
    outcome = outcomes[fault.scenario, route]
    if route == "/invoke":
        status, body = outcome.status, outcome.body
        if fault.code:
            assert (status, set(body)) == (fault.status, {"error"}), body
            assert body["error"]["code"] == fault.code
            assert outcome.headers.get("retry-after") == fault.retry_after
        else:
            assert (status, body["answer"]) == (200, f"You said: {PROMPT}")
        assert "Traceback" not in json.dumps(body)
    else:
        kinds = [kind for kind, _ in outcome.events]
        # The status line went out before the turn ran; the last event says how it ended, and only it.
        assert outcome.status == 200 and kinds.count("final") + kinds.count("error") == 1, kinds
        # Where the fault struck: before the model's first token, or after some (which the client has).
        assert "".join(data["text"] for kind, data in outcome.events if kind == "token") == fault.streamed
        last_kind, last = outcome.events[-1]
        if fault.code:
            assert last_kind == "error", outcome.events[-1]
            assert (last["status"], last["error"]["code"]) == (fault.status, fault.code)
        else:
            assert (last_kind, last["answer"]) == ("final", f"You said: {PROMPT}")
        assert "Traceback" not in json.dumps(outcome.events)

    [record] = outcome.emf  # one record a turn
    assert record["Requests"] == [1.0]
    assert record["Errors"] == [float(fault.status >= 500)] and record["Throttled"] == [float(fault.status == 429)]

    trace = finished_trace(mlflow_url, outcome.request_id)
    assert trace.info.state.value == ("ERROR" if fault.code else "OK")
    assert trace.info.tags["agent.session_id"] == outcome.session

    # The session: a failed turn left nothing (the model is sent two user turns: "Turn 2"); an answered
    # one is stored whole ("Turn 3"). Either way the next turn on the session works.
    status, after = outcome.after
    assert (status, after["answer"]) == (200, "Turn 2: after" if fault.code else "Turn 3: after")


@pytest.fixture(scope="module")
def agent_without_mlflow(agent_env, tmp_path_factory):
    """The agent with MLflow unreachable (a port nothing listens on): set-up fails in the background."""
    from local_runtime import processes

    down = AgentProcess(
        {**agent_env, "AGENT_MLFLOW_TRACKING_URI": f"http://127.0.0.1:{processes.free_port()}"},
        tmp_path_factory.mktemp("no-mlflow") / "agent.log",
    ).start()
    yield down
    down.stop()


@pytest.mark.parametrize("route", ROUTES)
def test_mlflow_down_answers_untraced_and_a_model_fault_still_fails_the_turn(agent_without_mlflow, route):
    """README, "Agent runtime": tracing never fails a request; a request MLflow cannot trace is counted
    (`Untraced`). The model's faults keep their statuses without tracing."""
    agent = agent_without_mlflow
    first = turn(agent.url, "[scenario:multi_turn] first")[2]
    session = first["session_id"]
    assert first["trace_id"] is None and first["answer"] == "Turn 1: first"

    for scenario, status, answer in [("multi_turn", 200, "Turn 2: "), ("stream_error", 502, None)]:
        seen = len(agent.emf_records())
        prompt = f"[scenario:{scenario}] {PROMPT}"
        if route == "/invoke":
            got, _, body = turn(agent.url, prompt, session)
            assert got == status and (
                body["answer"] == answer + PROMPT if answer else body["error"]["code"] == "ModelError"
            )
        else:
            _, events = stream_turn(agent, prompt, session, f"no-mlflow-{scenario}")
            kind, last = events[-1]
            if answer:
                assert (kind, last["answer"], last["trace_id"]) == ("final", answer + PROMPT, None)
            else:
                assert (kind, last["status"], last["error"]["code"]) == ("error", 502, "ModelError")
        [record] = new_emf_records(agent, seen)
        assert record["Untraced"] == [1.0] and record["Errors"] == [float(status >= 500)]

    status, _, after = turn(agent.url, "[scenario:multi_turn] after", session)
    assert (status, after["answer"]) == (200, "Turn 3: after")  # first, the answered turn, this one


@pytest.mark.parametrize(
    "scenario, status, after", [("echo", 200, "Turn 3: after"), ("stream_error", 502, "Turn 2: after")]
)
def test_sessions_on_s3_gain_answered_turns_only(s3_agent, scenario, status, after):
    """The same on S3, the store the agent uses on AWS (the local S3 server): the turn's writes reach the
    bucket when it has answered, and not at all when it fails."""
    session = turn(s3_agent.url, "[scenario:multi_turn] first")[2]["session_id"]
    assert turn(s3_agent.url, f"[scenario:{scenario}] {PROMPT}", session)[0] == status
    got, _, body = turn(s3_agent.url, "[scenario:multi_turn] after", session)
    assert (got, body["answer"]) == (200, after)
