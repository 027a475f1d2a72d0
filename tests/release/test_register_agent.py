"""The deploy step that registers the agent version: the runtime's exact settings, once per version, best effort.

(That the runtime then finds this registration, and its traces link to it: tests/agent_runtime/test_cold_start.py.)
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from kit_config import load_environment
from kit_config.project import PROJECT_DIR
from kit_config.runtime_environment import runtime_environment
from local_runtime.mlflow_server import SERVER_RELEASES
from release.register_agent import deployed_version, runtime_settings
from tests.local_runtime.support import start_mlflow
from tests.release.conftest import PYTHON, clean_environment, run

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def settings_in_a_process_with(variables: dict[str, str]) -> dict:
    """What `RuntimeSettings()` reads in a process whose AGENT_* variables are exactly these (the runtime's view)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")} | variables
    result = subprocess.run(
        [
            PYTHON,
            "-c",
            "from agent_runtime.settings import RuntimeSettings; print(RuntimeSettings().model_dump_json())",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_settings_are_decoded_from_the_stacks_variables_exactly_as_the_runtime_decodes_them(monkeypatch):
    variables = runtime_environment(
        load_environment("prod"), mlflow_tracking_uri="arn:aws:sagemaker:us-east-1:1:mlflow-app/app-x"
    )
    assert json.loads(runtime_settings(variables).model_dump_json()) == settings_in_a_process_with(variables)
    # Lists arrive as JSON (AGENT_TOOLS, AGENT_STOP) and are decoded, not taken as strings.
    assert runtime_settings(variables).tools == json.loads(variables["AGENT_TOOLS"])
    # This process's own AGENT_* variables (an operator's shell) do not leak into the deployed version.
    monkeypatch.setenv("AGENT_MAX_TOKENS", "7")
    monkeypatch.setenv("AGENT_SYSTEM_PROMPT_FILE", "/elsewhere/prompt.md")
    leaked = runtime_settings(variables)
    assert leaked.max_tokens == int(variables["AGENT_MAX_TOKENS"]) != 7
    assert leaked.system_prompt_file.name == "support_triage.md"


def test_the_deployed_version_changes_with_what_shapes_an_answer():
    dev, prod = load_environment("dev"), load_environment("prod")
    (_, version, specs), (_, again, _) = deployed_version(dev, "http://x"), deployed_version(dev, "http://y")
    assert version == again  # the tracking URI is not part of the version
    assert version.startswith("agent-") and [s["name"] for s in specs] == sorted(
        json.loads(runtime_environment(dev, mlflow_tracking_uri=None)["AGENT_TOOLS"])
    )
    assert deployed_version(prod, "http://x")[1] != version  # another endpoint, limits...


@pytest.fixture(params=SERVER_RELEASES, ids=lambda release: f"mlflow-{release.version}")
def mlflow_url(request, tmp_path_factory):
    """A real MLflow server at each release SageMaker runs for a config the kit accepts."""
    server = start_mlflow(request.param, tmp_path_factory.mktemp("mlflow"))
    yield server.url
    server.child.stop()


def test_registers_once_and_a_redeploy_finds_it(tmp_path, empty_home, mlflow_url):
    uri = mlflow_url
    env = clean_environment(empty_home)
    command = [PYTHON, "-m", "release.register_agent", "--env", "dev", "--tracking-uri", uri, "--commit", COMMIT]
    first = run(command, tmp_path, env, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    again = run(command, tmp_path, env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    model_id = first.stderr.split("registered: LoggedModel ")[1].split()[0]
    assert f"already registered: LoggedModel {model_id} in experiment governed-agents-dev-agent" in again.stderr
    check = run(
        [
            PYTHON,
            "-c",
            (
                "import mlflow, sys; c = mlflow.MlflowClient(sys.argv[1]);"
                "e = c.get_experiment_by_name('governed-agents-dev-agent');"
                "ms = c.search_logged_models([e.experiment_id]);"
                "print(len(ms), ms[0].model_id, ms[0].name, ms[0].status, ms[0].tags['mlflow.source.git.commit'], ms[0].tags['agent.registered_by'])"
            ),
            uri,
        ],
        tmp_path,
        env,
        timeout=300,
    )
    count, found, name, status, commit, by = check.stdout.split()
    assert (count, found, commit, by) == ("1", model_id, COMMIT, "deploy"), check.stderr[-2000:]
    assert name == deployed_version(load_environment("dev"), uri)[1] and status == "READY"


def test_mlflow_unavailable_is_a_warning_not_a_crash(tmp_path, empty_home):
    env = clean_environment(empty_home, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="2")
    result = run(
        [PYTHON, "-m", "release.register_agent", "--env", "dev", "--tracking-uri", "http://127.0.0.1:9"],
        PROJECT_DIR,
        env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "warning: could not register the agent version in MLflow (http://127.0.0.1:9)" in result.stderr
    assert "the runtime registers it itself" in result.stderr and "Traceback" not in result.stderr
