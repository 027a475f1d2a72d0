"""`make local`'s supervisor: brings up model server, emulator and a real MLflow server, prints
URLs and endpoint names, and stops every child on SIGTERM; a busy port is named in the error."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import boto3
import pytest

from kit_config.loader import load_environment
from kit_config.project import PROJECT_DIR
from local_runtime import mlflow_server, processes, s3_server
from tests.local_runtime.support import CHILD_ENV, NO_RETRIES, chat

pytestmark = pytest.mark.local_stack


def _lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, text: str, timeout: float) -> str:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not printed within {timeout} s; got:\n{''.join(seen)}")


def test_local_runtime_comes_up_serves_and_stops_cleanly(tmp_path, monkeypatch):
    runtime_port, model_port, mlflow_port = processes.free_port(), processes.free_port(), processes.free_port()
    agent_port, s3_port = processes.free_port(), processes.free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_runtime",
            "--env",
            "dev",
            "--model",
            "scripted",
            "--port",
            str(runtime_port),
            "--model-port",
            str(model_port),
            "--mlflow-port",
            str(mlflow_port),
            "--mlflow-dir",
            str(tmp_path / "mlflow"),
            "--agent-port",
            str(agent_port),
            "--s3-port",
            str(s3_port),
            "--session-dir",
            str(tmp_path / "sessions"),
            "--identity-dir",
            str(tmp_path / "identity"),
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, **CHILD_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _lines(process)
        summary = _wait_for(lines, "continues the conversation", timeout=150)
        assert "governed-agents-dev-llm" in summary
        assert f"http://127.0.0.1:{runtime_port}" in summary and f"http://127.0.0.1:{mlflow_port}" in summary

        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{runtime_port}")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(name, CHILD_ENV[name])
        client = boto3.client("sagemaker-runtime", config=NO_RETRIES)
        reply = client.invoke_endpoint(
            EndpointName="governed-agents-dev-llm",
            InferenceComponentName="governed-agents-dev-llm-primary",  # dev's model is an inference component
            Body=chat("up?"),
        )
        assert json.loads(reply["Body"].read())["choices"][0]["message"]["content"] == "You said: up?"

        request = urllib.request.Request(
            f"http://127.0.0.1:{mlflow_port}/api/2.0/mlflow/experiments/create",
            data=json.dumps({"name": "local-runtime-test"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["experiment_id"]
        # The SQLite backend of the release dev's tracking server runs (one store per release).
        release = mlflow_server.release_for(load_environment("dev").mlflow)
        assert (mlflow_server.store_dir(tmp_path / "mlflow", release) / "mlflow.db").is_file()

        # The agent service, configured as the dev stack configures it, answers through the emulator.
        assert f"http://127.0.0.1:{agent_port}" in summary
        # ... for a caller with a token: the summary prints a ready-to-use one of the local identity provider.
        token = re.search(r"Authorization: Bearer ([\w.-]+)", summary).group(1)
        body = json.dumps({"prompt": "agent up?"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{agent_port}/invoke", data=body, headers={"Content-Type": "application/json"}
                ),
                timeout=60,
            )
        assert refused.value.code == 401
        request = urllib.request.Request(
            f"http://127.0.0.1:{agent_port}/invoke",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert answer["answer"] == "You said: agent up?" and answer["trace_id"]
        # Another caller name, minted from the same folder as clients do, is another caller.
        other = subprocess.run(
            [sys.executable, "-m", "local_runtime.identity", "token", "bob", "--dir", str(tmp_path / "identity")],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        follow_up = json.dumps({"prompt": "mine?", "session_id": answer["session_id"]}).encode()
        with pytest.raises(urllib.error.HTTPError) as foreign:
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{agent_port}/invoke",
                    data=follow_up,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {other}"},
                ),
                timeout=60,
            )
        assert foreign.value.code == 404
        # Sessions are in the local S3 server's bucket (`make local`'s default), under the caller's prefix.
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", config=NO_RETRIES)
        keys = [item["Key"] for item in s3.list_objects_v2(Bucket=s3_server.DEFAULT_BUCKET)["Contents"]]
        assert any(key.endswith(f"session_{answer['session_id']}/session.json") for key in keys), keys
        assert not (tmp_path / "sessions").exists()

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        for port in (runtime_port, model_port, mlflow_port, agent_port, s3_port):  # every child is gone
            processes.check_port_free("127.0.0.1", port, "after stop")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_port_in_use_stops_startup_with_its_number():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "local_runtime",
                "--model",
                "scripted",
                "--no-mlflow",
                "--no-agent",
                "--model-port",
                str(port),
                "--port",
                str(processes.free_port()),
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, **CHILD_ENV},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"model server for variant primary: port {port} on 127.0.0.1 is already in use" in result.stderr


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--env", "nosuch"], "nosuch"),
        (["--variant-model", "nosuch=scripted"], "--variant-model 'nosuch=scripted': variants are"),
        (["--variant-model", "primary=unknown"], "kinds are"),
    ],
)
def test_a_refused_start_exits_2_before_starting_anything(argv, words, capsys, monkeypatch):
    from local_runtime import __main__ as cli

    monkeypatch.setattr(cli.processes, "start", lambda *a, **k: pytest.fail("nothing may start"))
    assert cli.main(["--model", "scripted", *argv]) == 2
    assert words in capsys.readouterr().err
