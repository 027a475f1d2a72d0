"""Cold start on Lambda: nothing slow on the first request's path.

Each test runs the real handler in a fresh process (tests/agent_runtime/lambda_process.py), as a
new Lambda environment would, with the Lambda Runtime API test double: MLflow set-up runs after the
first response, in the internal extension's post-response time, so the first request neither waits
for it nor shares the CPU with it; and the version `make deploy` registered is found, not
registered again.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit_config.project import PROJECT_DIR
from tests.agent_runtime.conftest import DEV_MLFLOW, LambdaProcess
from tests.local_runtime.support import start_mlflow

EXPERIMENT = "governed-agents-dev-agent"  # config/dev.yaml's project and name (runtime_environment)


def test_the_first_answer_does_not_wait_for_mlflow_set_up(agent_env, blackhole_mlflow):
    # MLflow accepts the connection and never answers; the client would wait 120 s per call. A set-up
    # on the request's path would hold the first answer that long (twice: one retry).
    lam = LambdaProcess(
        {
            **agent_env,
            "AGENT_MLFLOW_TRACKING_URI": blackhole_mlflow.url,
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "120",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        }
    )
    [first] = lam.run("first of the day", "--then-wait", "5")
    assert first["status"] == 200 and first["body"]["answer"] == "You said: first of the day"
    assert first["since_start_s"] < 60, first  # process start -> first answer, far below MLflow's 120 s
    # Answered untraced, and counted as such; set-up was still waiting on MLflow, not skipped.
    assert first["body"]["trace_id"] is None and first["tracing"] == "starting"
    [setup] = lam.lines("SETUP")
    assert setup["tracing"] == "starting" and len(blackhole_mlflow.connections) >= 1
    [record] = lam.emf_records()
    assert record["Untraced"] == [1.0] and record["TracingFailures"] == [0.0]


def test_mlflow_is_set_up_after_the_first_response_and_traces_the_next_ones(agent_env):
    lam = LambdaProcess(agent_env)
    first, second = lam.run("cold one", "warm two")
    # The first answer: untraced (counted), set-up not even started while it ran.
    assert first["status"] == 200 and first["body"]["trace_id"] is None and first["tracing"] == "starting"
    assert first["setup_seconds"] is None
    # Its post-response time (billed, not waited for by the caller) set MLflow up: the second is traced.
    assert first["post_response_ms"] >= 0 and second["tracing"] == "ready" and second["body"]["trace_id"]
    assert second["setup_seconds"] * 1000 <= first["post_response_ms"]
    assert [record["Untraced"] for record in lam.emf_records()] == [[1.0], [0.0]]


@pytest.fixture(scope="module")
def fresh_mlflow(tmp_path_factory):
    """An MLflow server of its own: the agent version must not be registered there before the deploy step."""
    server = start_mlflow(DEV_MLFLOW, tmp_path_factory.mktemp("fresh"))
    yield server.url
    server.child.stop()


def register_at_deploy(tracking_uri: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "release.register_agent",
            "--env",
            "dev",
            "--tracking-uri",
            tracking_uri,
            "--commit",
            "0123456789abcdef0123456789abcdef01234567",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )


def versions(client, name: str) -> list:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return (
        client.search_logged_models([experiment.experiment_id], filter_string=f"name = '{name}'") if experiment else []
    )


def test_the_version_registered_at_deploy_is_reused_and_its_traces_link_to_it(agent_env, fresh_mlflow):
    import mlflow  # in the functions that use it: collecting this file stays quick where they are not run

    client = mlflow.MlflowClient(fresh_mlflow)
    deployed = register_at_deploy(fresh_mlflow)
    assert deployed.returncode == 0 and " registered: LoggedModel " in deployed.stderr, deployed.stderr[-2000:]

    [first] = LambdaProcess({**agent_env, "AGENT_MLFLOW_TRACKING_URI": fresh_mlflow}).run(
        "which version am I?", "--wait-for-tracing", "120"
    )
    version = first["body"]["agent_version"]
    [model] = versions(client, version)  # the deploy step's, computed from the same config: not a second one
    assert model.tags["agent.registered_by"] == "deploy"
    assert model.tags["mlflow.source.git.commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert model.params["endpoint.endpoint_name"] == "governed-agents-dev-llm"
    assert {a.path for a in client.list_logged_model_artifacts(model.model_id)} == {
        "system_prompt.md",
        "tool_specs.json",
        "version_material.json",
    }
    # Traced once set up, and the trace names the LoggedModel it ran as.
    assert first["tracing"] == "ready" and first["body"]["trace_id"]
    from agent_runtime.trace_ids import read_trace

    trace = read_trace(fresh_mlflow, first["body"]["trace_id"])  # the id the response returned is stored
    assert trace.info.trace_metadata["mlflow.modelId"] == model.model_id
    assert trace.info.tags["agent.version"] == version

    again = register_at_deploy(fresh_mlflow)  # a redeploy of the same version
    assert again.returncode == 0 and f"already registered: LoggedModel {model.model_id}" in again.stderr
    assert len(versions(client, version)) == 1


def test_without_a_deploy_registration_the_runtime_registers_its_version_off_the_request_path(agent_env, fresh_mlflow):
    import mlflow  # in the functions that use it: collecting this file stays quick where they are not run

    # `make local`, or a runtime that starts before `make deploy` reaches its registration step.
    env = {**agent_env, "AGENT_MLFLOW_TRACKING_URI": fresh_mlflow, "AGENT_MAX_TOKENS": "300"}  # a new version
    [first] = LambdaProcess(env).run("register yourself", "--wait-for-tracing", "120")
    [model] = versions(mlflow.MlflowClient(fresh_mlflow), first["body"]["agent_version"])
    assert "agent.registered_by" not in model.tags and model.params["param.max_tokens"] == "300"
    assert first["body"]["trace_id"] and first["setup_seconds"] > 0
