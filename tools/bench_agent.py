"""Benchmark of the agent runtime (`make bench-agent`).

Method
------
A scripted model server (the test double) answers every call after a fixed 50 ms
(`fixed_latency`), behind the SageMaker Runtime emulator; a real local MLflow server receives the
traces. All are separate processes on loopback.

1. Agent overhead. The agent service (uvicorn, one worker, tracing on, the dev settings) gets
   `POST /invoke` turns over HTTP, each in a fresh session (one model call, no tool call);
   a bare boto3 `invoke_endpoint` sends a chat body to the same endpoint. Calls alternate
   (machine noise hits both alike) after a warm-up; p50 and p95 of each and their ratios.
2. Cold init. A fresh Python process imports the Lambda handler and answers one Function URL
   event (through the same emulator, `echo`, no added latency), with MLflow up and the agent
   version already registered (as after a first deployment). Reported: process start to the
   answered request, minus the model call's own time measured by the emulator path (echo: ~1 ms).
3. Concurrency. 32 clients each stream `--stream-turns` turns (`/invoke/stream`, own sessions)
   against the one worker: requests/s, and p95 of (turn latency - 50 ms model latency).

Last line: `agent_overhead p50_ratio=X p95_ratio=Y cold_init_s=Z`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from kit_config.loader import load_environment  # noqa: E402
from kit_config.runtime_environment import runtime_environment  # noqa: E402
from local_runtime import mlflow_server, processes  # noqa: E402
from local_runtime.endpoints import LocalEndpoint, LocalVariant, dump_endpoints, endpoints_from_environment  # noqa: E402

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
MODEL_LATENCY_S = 0.05


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def post(url: str, body: dict, timeout: float = 60) -> bytes:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def start(name: str, module: str, port: int, *args: str, env: dict | None = None, probe: str = "/ping") -> processes.Child:
    url = f"http://127.0.0.1:{port}"
    child = processes.start(name, processes.python_module(module, "--port", str(port), *args), url,
                            env={**DUMMY_AWS, "PYTHONPATH": str(PROJECT_DIR), **(env or {})}, quiet=True)
    processes.wait_until_ready(child, url + probe, 120)
    return child


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200, help="measured turns per side")
    parser.add_argument("--stream-turns", type=int, default=4, help="turns per client at 32 concurrent sessions")
    args = parser.parse_args()
    os.environ.update(DUMMY_AWS)
    scratch = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    children: list[processes.Child] = []
    try:
        slow = start("scripted model, 50 ms", "local_runtime.model_servers.scripted", processes.free_port(),
                     "--scenario", "fixed_latency", "--scenario-params", f"latency_ms={int(MODEL_LATENCY_S * 1000)}")
        fast = start("scripted model, echo", "local_runtime.model_servers.scripted", processes.free_port())
        children += [slow, fast]
        environment = load_environment("dev")
        endpoints = endpoints_from_environment(environment, {"primary": slow.url}) + [
            LocalEndpoint("echo-llm", (LocalVariant("AllTraffic", fast.url),))]
        (scratch / "endpoints.json").write_text(dump_endpoints(endpoints))
        emulator_port = processes.free_port()
        emulator = start("emulator", "local_runtime.emulator", emulator_port, "--endpoints-file", str(scratch / "endpoints.json"))
        mlflow_port = processes.free_port()
        mlflow = processes.start("MLflow", mlflow_server.command("127.0.0.1", mlflow_port, scratch / "mlflow"),
                                 f"http://127.0.0.1:{mlflow_port}", quiet=True)
        children += [emulator, mlflow]
        processes.wait_until_ready(mlflow, mlflow_server.health_url("127.0.0.1", mlflow_port), 120)
        agent_env = {**runtime_environment(environment, mlflow_tracking_uri=f"http://127.0.0.1:{mlflow_port}",
                                           session_dir=str(scratch / "sessions")),
                     "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": emulator.url}
        agent_port = processes.free_port()
        agent = start("agent", "agent_runtime", agent_port, env=agent_env, probe="/health")
        children.append(agent)

        import boto3

        os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = emulator.url
        client = boto3.client("sagemaker-runtime")
        chat = json.dumps({"messages": [{"role": "user", "content": "How do I reset my password?"}], "max_tokens": 64})

        def bare() -> float:
            started = time.perf_counter()
            client.invoke_endpoint(EndpointName=environment.inference.endpoint_name, Body=chat,
                                   ContentType="application/json")["Body"].read()
            return time.perf_counter() - started

        counter = iter(range(10**9))

        def turn() -> float:
            started = time.perf_counter()
            post(f"{agent.url}/invoke", {"prompt": "How do I reset my password?", "session_id": f"bench-{next(counter):08d}"})
            return time.perf_counter() - started

        for _ in range(10):  # warm-up: connections, MLflow version registration, imports
            bare(), turn()
        agent_times, bare_times = [], []
        for _ in range(args.turns):
            agent_times.append(turn())
            bare_times.append(bare())
        a50, a95 = statistics.median(agent_times), percentile(agent_times, 95)
        b50, b95 = statistics.median(bare_times), percentile(bare_times, 95)
        print(f"agent turn over HTTP (tracing on): p50 {a50 * 1000:.1f} ms  p95 {a95 * 1000:.1f} ms  ({args.turns} turns)")
        print(f"bare boto3 invoke_endpoint:        p50 {b50 * 1000:.1f} ms  p95 {b95 * 1000:.1f} ms")

        cold = cold_init(agent_env, emulator.url)
        print(f"cold init (fresh process -> first answered Function URL request): {cold:.2f} s")

        rps, overhead95 = concurrent_streams(agent.url, args.stream_turns)
        print(f"32 concurrent streaming sessions, one worker: {rps:.1f} requests/s, p95 overhead {overhead95 * 1000:.0f} ms over the 50 ms model")
        print(f"agent_overhead p50_ratio={a50 / b50:.3f} p95_ratio={a95 / b95:.3f} cold_init_s={cold:.2f}")
        return 0
    finally:
        for child in reversed(children):
            child.stop()


COLD_START = """
import base64, json, sys, time
started = float(sys.argv[1])
from agent_runtime.lambda_handler import handler
body = json.dumps({"prompt": "hello", "session_id": "cold-start-0001"})
event = {"version": "2.0", "rawPath": "/invoke", "rawQueryString": "", "headers": {"content-type": "application/json"},
         "requestContext": {"http": {"method": "POST", "path": "/invoke", "sourceIp": "10.0.0.1", "protocol": "HTTP/1.1"},
                            "accountId": "111111111111", "requestId": "cold", "stage": "$default", "routeKey": "$default"},
         "body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}
class Context:
    function_name = "bench"; memory_limit_in_mb = 2048; aws_request_id = "cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:bench"
    def get_remaining_time_in_millis(self): return 60000
response = handler(event, Context())
assert response["statusCode"] == 200, response
print(json.dumps({"elapsed": time.time() - started, "usage": json.loads(base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"])["usage"]}))
"""


def cold_init(agent_env: dict, emulator_url: str) -> float:
    env = {**os.environ, **agent_env, "AGENT_ENDPOINT_NAME": "echo-llm", "AWS_LAMBDA_FUNCTION_NAME": "bench",
           "PYTHONPATH": str(PROJECT_DIR)}
    runs = []
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", COLD_START, str(time.time())], env=env, capture_output=True,
                                text=True, timeout=120, cwd=PROJECT_DIR)
        if result.returncode:
            raise RuntimeError(result.stderr[-2000:])
        report = json.loads(result.stdout.strip().splitlines()[-1])
        runs.append(report["elapsed"] - report["usage"]["latency_ms"] / 1000 * 0)  # echo model: ~1 ms, not subtracted
    return statistics.median(runs)


def concurrent_streams(agent_url: str, turns_per_client: int) -> tuple[float, float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for number in range(turns_per_client):
            started = time.perf_counter()
            post(f"{agent_url}/invoke/stream", {"prompt": "Stream an answer please", "session_id": f"stream-{index:03d}-{number:04d}"}, timeout=120)
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, percentile(latencies, 95) - MODEL_LATENCY_S


if __name__ == "__main__":
    sys.exit(main())
