"""Dev's endpoint scaled to zero, as the agent meets it: the agent (a real process over HTTP) asks the
SageMaker Runtime emulator (real boto3, the wire protocol) for dev's inference component while it has no
copy; the emulator refuses as SageMaker does (ValidationError "Inference Component has no capacity…") and,
playing the scale-out-from-zero step policy, starts a copy at once. The agent answers 503 with Retry-After
and says the endpoint is scaling from zero; the turn is an error everywhere (status, the `Errors` metric,
the trace) and leaves the session as it was; the next turn is answered.
"""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest

from agent_runtime.errors import SCALE_FROM_ZERO_RETRY_AFTER_SECONDS
from kit_config.loader import load_environment
from local_runtime.endpoints import endpoints_from_environment
from tests.agent_runtime.conftest import AgentProcess, turn
from tests.agent_runtime.test_faults import finished_trace, new_emf_records, stream_turn
from tests.local_runtime.support import DUMMY_AWS, NO_RETRIES, start_emulator, start_server

DEV = load_environment("dev").inference
COMPONENT = DEV.variants[0].component_name(DEV.endpoint_name)


@pytest.fixture(scope="module")
def scaling_endpoint(tmp_path_factory):
    """Dev's endpoint (its inference component) in front of the scripted model, on an emulator whose
    scale-out from zero takes no time: a refused request brings the copy back for the next one."""
    model = start_server("scripted model (test double)", "local_runtime.model_servers.scripted")
    endpoints = endpoints_from_environment(load_environment("dev"), {"primary": model.url})
    emulator = start_emulator(endpoints, tmp_path_factory.mktemp("scaling-emulator"), 2.0, "--scale-out-from-zero", "0")
    yield emulator
    emulator.child.stop()
    model.child.stop()


@pytest.fixture(scope="module")
def idle_agent(agent_env, scaling_endpoint, tmp_path_factory):
    # The settings' default attempts (3), not the module fixture's 1: botocore does not retry the refusal.
    env = {**agent_env, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": scaling_endpoint.url, "AGENT_MAX_ATTEMPTS": "3"}
    assert env["AGENT_INFERENCE_COMPONENT"] == COMPONENT  # as the stacks set it for dev
    process = AgentProcess(env, tmp_path_factory.mktemp("idle-agent") / "agent.log").start()
    yield process
    process.stop()


def _scale_to_zero(url: str) -> None:
    control_plane = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name=DUMMY_AWS["AWS_DEFAULT_REGION"],
        aws_access_key_id=DUMMY_AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_AWS["AWS_SECRET_ACCESS_KEY"],
        config=NO_RETRIES,
    )
    control_plane.update_inference_component_runtime_config(
        InferenceComponentName=COMPONENT, DesiredRuntimeConfig={"CopyCount": 0}
    )


def _no_capacity_failures(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_local/components", timeout=5) as response:
        [component] = json.loads(response.read())["InferenceComponents"]
    return component["NoCapacityInvocationFailures"]


@pytest.mark.parametrize("route", ["/invoke", "/invoke/stream"])
def test_a_turn_at_zero_answers_503_with_retry_after_and_leaves_the_session_as_it_was(
    idle_agent, scaling_endpoint, mlflow_url, route
):
    session = turn(idle_agent.url, "[scenario:multi_turn] first")[2]["session_id"]
    _scale_to_zero(scaling_endpoint.url)
    failures, seen = _no_capacity_failures(scaling_endpoint.url), len(idle_agent.emf_records())
    request_id = f"scale-from-zero{route.replace('/', '-')}"

    if route == "/invoke":
        status, headers, body = turn(
            idle_agent.url, "[scenario:multi_turn] are you there?", session, headers={"X-Request-Id": request_id}
        )
        assert (status, headers.get("retry-after")) == (503, str(SCALE_FROM_ZERO_RETRY_AFTER_SECONDS))
        assert set(body) == {"error"}
        error = body["error"]
    else:
        status, events = stream_turn(idle_agent, "[scenario:multi_turn] are you there?", session, request_id)
        # The status line went out before the turn ran: the last (and only) event says how it ended.
        assert status == 200 and [kind for kind, _ in events] == ["error"], events
        error = events[-1][1]
        assert (error.pop("status"), error.pop("retry_after")) == (503, SCALE_FROM_ZERO_RETRY_AFTER_SECONDS)
        error = error["error"]
    assert error["code"] == "EndpointScalingFromZero"
    assert "scaling from zero" in error["message"] and "several minutes" in error["message"]

    # One request reached the endpoint (the refusal is not retried) and was counted as SageMaker counts it.
    assert _no_capacity_failures(scaling_endpoint.url) == failures + 1
    # Not a success anywhere: the turn's metrics count an error, its trace ends in ERROR.
    [record] = new_emf_records(idle_agent, seen)
    assert record["Errors"] == [1.0] and record["Throttled"] == [0.0]
    assert finished_trace(mlflow_url, request_id).info.state.value == "ERROR"

    # The refusal started the copy; the session holds the first turn only (the model sees turn 2).
    status, _, after = turn(idle_agent.url, "[scenario:multi_turn] after", session)
    assert (status, after["answer"]) == (200, "Turn 2: after")
