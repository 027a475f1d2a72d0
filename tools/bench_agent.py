"""Benchmark of the agent runtime (`make bench-agent`).

Method
------
Scripted model servers (the test double) answer after a fixed 50 ms or 500 ms (`fixed_latency`),
or at once (`echo`), behind the SageMaker Runtime emulator; a real local MLflow server receives
the traces. All are separate processes on loopback; the agent runs with the dev environment's
settings (`runtime_environment`, as the stacks set them), tracing on unless said otherwise. Every
turn is a fresh session, one model call, no tool call. Phases run one after the other, each
agent process stopped before the next phase starts, so they do not compete for the 2 cores.

1. HTTP turn vs bare invoke (50 ms model). The agent service (uvicorn, one worker) gets
   `POST /invoke` turns; a bare boto3 `invoke_endpoint` sends a chat body to the same endpoint.
   Calls alternate (machine noise hits both alike) after a warm-up; p50 and p95 of each and
   their ratios. CPU ms per turn: the agent process's CPU time (utime + stime of every thread,
   from /proc/<pid>/stat) from before the measured turns until their traces are all stored in
   MLflow (MLflow exports them in the background, after the answer) and the process is quiet,
   divided by the turns. Then the same agent without tracing (CPU and latency only), and one
   with a long answer (the echo model streams the prompt's 300 words back): per-token costs.
2. Lambda warm turn, tracing on vs off (50 ms model). A process imports the Lambda handler (as
   Lambda's runtime does, `AWS_LAMBDA_FUNCTION_NAME` set, `AWS_LAMBDA_RUNTIME_API` pointing at the
   Lambda Runtime API test double in the same process, local_runtime/lambda_runtime_api.py) and
   calls it with Function URL events, each announced to the handler's internal extension as an
   INVOKE event: the time each `handler(event, context)` takes (what the caller waits), after a
   warm-up, and the post-response time from its return until the extension calls Next (the trace
   export: billed, the caller does not wait). p50 of the handler time with and without
   `AGENT_MLFLOW_TRACKING_URI`, and the difference (`lambda_warm_overhead_ms`). CPU: the process's,
   from the invocation until Next.
3. Cold start (echo model). A fresh Python process imports the handler and answers one Function
   URL event, with MLflow up and the agent version already registered (a first, unmeasured run
   registers it, as a first deployment would). Reported: from just before the process is spawned
   to the answered request (interpreter start and imports included); median of the runs.
4. Concurrency (500 ms model). One uvicorn worker: one user sends turns one after another, then
   32 users (threads) send turns at once (`POST /invoke/stream`, the whole stream read); p50 and
   p95 of each and the ratios 32 users / 1 user (1.0: concurrency costs nothing). Refused turns
   (e.g. 503) are counted and left out of the latencies. Twice: sessions in files (what phases 1-3
   use), then on S3, the local S3 server (local_runtime.s3_server: the S3 session manager, lock and
   caller slots as on AWS; ~5 ms a call on loopback, on the same cores, where S3's small requests
   take tens of milliseconds off the task's CPU: agent_runtime/README.md, "S3 sessions in the
   benchmark"); the S3 run's ratio is reported too, and its p50s against the files run's.
5. Server stack. Phases 1-4 run uvicorn as the image does, on uvloop and httptools
   (`AGENT_SERVER_STACK=uvloop`). This phase repeats phase 1's traced HTTP turns and phase 4's files
   run on the standard library's loop and h11 (`asyncio`), and reports uvloop / asyncio ratios of
   CPU per turn, of the p95 ratio to the bare call, and of the 32-user ratio.

Children write JSON logs to stdout, so a child's report is the stdout line that is a JSON object
with the key `bench_report`. Everything is bounded: counts are flags with small defaults, and
every request and child has a timeout.

Last line:
`agent_overhead p50_ratio=X p95_ratio=Y cold_init_s=Z lambda_warm_overhead_ms=W conc32_p50_ratio=R cpu_ms_per_turn=C conc32_p50_ratio_s3=S`
(`cpu_ms_per_turn`: the traced HTTP agent of phase 1; `conc32_p50_ratio_s3`: phase 4 on S3 sessions).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit_config.project import PROJECT_DIR

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
PROMPT = "How do I reset my password?"
SESSION_BUCKET = "bench-sessions"
REPORT_KEY = "bench_report"
SLOW_ENDPOINT, ECHO_ENDPOINT = "slow-llm", "echo-llm"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy


# -- statistics and the report line (pure; tests/tools/test_bench_agent.py) ----------------------


@dataclass(frozen=True)
class Summary:
    p50: float
    p95: float
    count: int

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        if len(values) < 2:
            raise ValueError(f"need at least 2 samples for a p95, got {len(values)}")
        return cls(statistics.median(values), percentile(values, 95), len(values))


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile, interpolated between the samples (q in 1..99, at least 2 samples)."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def cpu_seconds_from_stat(stat: str, ticks_per_second: int) -> float:
    """utime + stime (all threads) from the text of /proc/<pid>/stat.

    Fields 14 and 15 (proc(5)); the second field, the command name in parentheses, may hold spaces
    and parentheses itself, so the count starts after its last ')'.
    """
    after_name = stat.rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / ticks_per_second


def process_cpu_seconds(pid: int) -> float:
    return cpu_seconds_from_stat(Path(f"/proc/{pid}/stat").read_text(), os.sysconf("SC_CLK_TCK"))


def report_from_output(stdout: str) -> dict:
    """The child's report: the last stdout line that is a JSON object with the `bench_report` key."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, dict) and REPORT_KEY in parsed:
            return parsed[REPORT_KEY]
    raise ValueError(f"no line with {REPORT_KEY!r} in the child's output:\n{stdout[-2000:]}")


def report_line(
    *,
    p50_ratio: float,
    p95_ratio: float,
    cold_init_s: float,
    lambda_warm_overhead_ms: float,
    conc32_p50_ratio: float,
    cpu_ms_per_turn: float,
    conc32_p50_ratio_s3: float,
) -> str:
    return (
        f"agent_overhead p50_ratio={p50_ratio:.3f} p95_ratio={p95_ratio:.3f} cold_init_s={cold_init_s:.2f} "
        f"lambda_warm_overhead_ms={lambda_warm_overhead_ms:.1f} conc32_p50_ratio={conc32_p50_ratio:.3f} "
        f"cpu_ms_per_turn={cpu_ms_per_turn:.1f} conc32_p50_ratio_s3={conc32_p50_ratio_s3:.3f}"
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# -- processes -----------------------------------------------------------------------------------

_TOKENS: dict[str, dict[str, str]] = {}  # caller -> Authorization header, signed by the Stack's local identity


def post(url: str, body: dict, timeout: float = 120, caller: str = "bench") -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", **_TOKENS.setdefault(caller, Stack.identity.headers(caller))}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def start_server(name: str, module: str, *args: str, env: dict | None = None, probe: str = "/ping"):
    from local_runtime import processes

    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    child = processes.start(
        name,
        processes.python_module(module, "--port", str(port), *args),
        url,
        env={**DUMMY_AWS, **(env or {})},
        quiet=True,
    )
    processes.wait_until_ready(child, url + probe, 120)
    return child


def wait_until_idle(pid: int, window: float = 0.5, quiet_cpu: float = 0.02, limit: float = 10.0) -> None:
    """Until the process uses under `quiet_cpu` s of CPU in a `window`."""
    deadline = time.monotonic() + limit
    before = process_cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = process_cpu_seconds(pid)
        if now - before < quiet_cpu:
            return
        before = now


def traces_stored(database: Path) -> int:
    """Traces the MLflow server has recorded (its SQLite store: `trace_info`, one row per trace)."""
    import sqlite3

    if not database.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as connection:
        try:
            return connection.execute("SELECT COUNT(*) FROM trace_info").fetchone()[0]
        except sqlite3.OperationalError:  # the server has not created its tables yet
            return 0


def wait_for_traces(database: Path, expected: int, limit: float = 120.0) -> int:
    """Until `expected` traces are stored: MLflow exports them in the background, after the answer,
    and that work is part of a turn's CPU. Returns the count (short of `expected` after `limit`)."""
    deadline = time.monotonic() + limit
    while (count := traces_stored(database)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


class Stack:
    """Model servers, emulator and MLflow for the whole run; agents come and go per phase."""

    identity = None  # the local identity provider the agents verify tokens with (set on enter)

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        from kit_config.loader import load_environment
        from local_runtime import mlflow_server

        self.mlflow_release = mlflow_server.release_for(load_environment("dev").mlflow)  # what dev runs on AWS
        self.mlflow_db = mlflow_server.store_dir(scratch / "mlflow", self.mlflow_release) / "mlflow.db"
        self.children = []

    def __enter__(self) -> Stack:
        from kit_config.loader import load_environment
        from kit_config.runtime_environment import runtime_environment
        from local_runtime import mlflow_server, processes, s3_server
        from local_runtime.endpoints import LocalEndpoint, LocalVariant, dump_endpoints, endpoints_from_environment
        from local_runtime.identity import FOREIGN_SETTINGS, LocalIdentity

        try:
            mlflow_port = processes.free_port()
            mlflow = processes.start(
                "MLflow",
                mlflow_server.command(
                    "127.0.0.1",
                    mlflow_port,
                    self.scratch / "mlflow",
                    release=self.mlflow_release,
                ),
                f"http://127.0.0.1:{mlflow_port}",
                quiet=True,
                env=mlflow_server.SERVER_ENV,
            )
            self.children.append(mlflow)  # slowest to start: overlaps the others
            scripted = "local_runtime.model_servers.scripted"
            model50 = self._keep(
                start_server(
                    "scripted model, 50 ms",
                    scripted,
                    "--scenario",
                    "fixed_latency",
                    "--scenario-params",
                    "latency_ms=50",
                )
            )
            model500 = self._keep(
                start_server(
                    "scripted model, 500 ms",
                    scripted,
                    "--scenario",
                    "fixed_latency",
                    "--scenario-params",
                    "latency_ms=500",
                )
            )
            echo = self._keep(start_server("scripted model, echo", scripted))
            self.s3 = self._keep(
                start_server(
                    "local S3", "local_runtime.s3_server", "--bucket", SESSION_BUCKET, probe=s3_server.READY_PATH
                )
            )
            self.environment = load_environment("dev")
            endpoints = endpoints_from_environment(self.environment, {"primary": model50.url}) + [
                LocalEndpoint(SLOW_ENDPOINT, (LocalVariant("AllTraffic", model500.url),)),
                LocalEndpoint(ECHO_ENDPOINT, (LocalVariant("AllTraffic", echo.url),)),
            ]
            (self.scratch / "endpoints.json").write_text(dump_endpoints(endpoints))
            self.emulator = self._keep(
                start_server(
                    "emulator", "local_runtime.emulator", "--endpoints-file", str(self.scratch / "endpoints.json")
                )
            )
            processes.wait_until_ready(mlflow, mlflow_server.health_url("127.0.0.1", mlflow_port), 120)
            Stack.identity = LocalIdentity.create(self.scratch / "identity")
            deployed = runtime_environment(
                self.environment,
                mlflow_tracking_uri=f"http://127.0.0.1:{mlflow_port}",
                session_dir=str(self.scratch / "sessions"),
            )
            self.agent_env = {
                **{name: value for name, value in deployed.items() if name not in FOREIGN_SETTINGS},
                **Stack.identity.agent_settings(),
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": self.emulator.url,
            }
        except BaseException:
            self.__exit__()
            raise
        return self

    def _keep(self, child):
        self.children.append(child)
        return child

    def __exit__(self, *exc) -> None:
        for child in reversed(self.children):
            child.stop()

    def env(
        self, *, tracing: bool = True, endpoint: str | None = None, sessions: str = "files", server: str = "uvloop"
    ) -> dict:
        env = {**self.agent_env, "AGENT_SERVER_STACK": server}
        if not tracing:
            env.pop("AGENT_MLFLOW_TRACKING_URI")
        if endpoint:
            env["AGENT_ENDPOINT_NAME"] = endpoint
        if sessions == "s3":
            env.update({"AGENT_SESSION_BUCKET": SESSION_BUCKET, "AWS_ENDPOINT_URL_S3": self.s3.url})
        return env

    def agent(self, *, tracing: bool = True, endpoint: str | None = None, sessions: str = "files", server="uvloop"):
        agent = start_server(
            "agent",
            "agent_runtime",
            env=self.env(tracing=tracing, endpoint=endpoint, sessions=sessions, server=server),
            probe="/health",
        )
        if tracing:  # MLflow set-up runs in the background from start: measure the set-up agent
            wait_for_tracing(agent.url)
        return agent


def wait_for_tracing(agent_url: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with _DIRECT.open(f"{agent_url}/health", timeout=10) as response:
            if (status := json.load(response)["tracing"]) == "ready":
                return
        time.sleep(0.2)
    raise RuntimeError(f"the agent's MLflow set-up did not finish in {limit:.0f} s (tracing: {status})")


# -- phase 1: HTTP turn vs bare invoke, CPU per turn --------------------------------------------


def http_turn(agent_url: str, path: str = "/invoke", prompt: str = PROMPT) -> float:
    """One turn in a new session (the server issues its id)."""
    started = time.perf_counter()
    status, body = post(f"{agent_url}{path}", {"prompt": prompt})
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"agent answered {status}: {body[:500]!r}")
    return elapsed


def http_phase(
    stack: Stack,
    turns: int,
    warmup: int,
    *,
    tracing: bool,
    bare: Callable[[], float] | None,
    endpoint: str | None = None,
    prompt: str = PROMPT,
    server: str = "uvloop",
):
    """(agent summary, bare summary or None, CPU seconds per turn) for one agent process."""
    traces_before = traces_stored(stack.mlflow_db)
    agent = stack.agent(tracing=tracing, endpoint=endpoint, server=server)
    try:
        for _ in range(warmup):  # connections, MLflow set-up, first-use imports
            http_turn(agent.url, prompt=prompt)
            if bare:
                bare()
        settle(stack, agent.process.pid, traces_before + warmup if tracing else None)
        cpu_before = process_cpu_seconds(agent.process.pid)
        agent_times, bare_times = [], []
        for _ in range(turns):
            agent_times.append(http_turn(agent.url, prompt=prompt))
            if bare:
                bare_times.append(bare())
        settle(stack, agent.process.pid, traces_before + warmup + turns if tracing else None)
        cpu = process_cpu_seconds(agent.process.pid) - cpu_before
    finally:
        agent.stop()
    return Summary.of(agent_times), Summary.of(bare_times) if bare else None, cpu / turns


def settle(stack: Stack, pid: int, traces: int | None) -> None:
    """Until the agent's background work is done: its traces stored, then its CPU quiet."""
    if traces is not None and (stored := wait_for_traces(stack.mlflow_db, traces)) < traces:
        print(f"warning: {stored} of {traces} traces reached MLflow", file=sys.stderr)
    wait_until_idle(pid)


def bare_invoke(stack: Stack) -> Callable[[], float]:
    import boto3

    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=stack.emulator.url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    chat = json.dumps({"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64})

    inference = stack.environment.inference
    # The call the agent makes: on an endpoint of inference components it names the component.
    target = {"EndpointName": inference.endpoint_name}
    component = inference.variants[0].component_name(inference.endpoint_name)
    if component:
        target["InferenceComponentName"] = component

    def call() -> float:
        started = time.perf_counter()
        client.invoke_endpoint(**target, Body=chat, ContentType="application/json")["Body"].read()
        return time.perf_counter() - started

    return call


# -- phases 2 and 3: the Lambda handler in its own process --------------------------------------

LAMBDA_CHILD = """
import base64, json, os, sys, time
started, requests = float(sys.argv[1]), int(sys.argv[2])
from local_runtime.lambda_runtime_api import LambdaRuntimeApiDouble
api = LambdaRuntimeApiDouble().start()  # Lambda's side: the handler's internal extension registers here
os.environ["AWS_LAMBDA_RUNTIME_API"] = api.address
from agent_runtime.lambda_handler import handler
imported = time.time()
assert api.wait_until_frozen(10), "the extension did not call Next during init"
if sys.argv[4] == "warm":  # a warm environment: the background MLflow set-up has finished
    handler.app.state.service.lineage.set_up_now(60)

class Context:
    function_name = "bench"; memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:bench"
    def __init__(self, number): self.aws_request_id = f"bench-{number:06d}"; self.deadline_ms = int(time.time() * 1000) + 60000
    def get_remaining_time_in_millis(self): return self.deadline_ms - int(time.time() * 1000)

def event(number):
    body = json.dumps({"prompt": sys.argv[3]})
    return {"version": "2.0", "rawPath": "/invoke", "rawQueryString": "", "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": "POST", "path": "/invoke", "sourceIp": "10.0.0.1", "protocol": "HTTP/1.1"},
                               # The SigV4-verified signer, as an IAM-authenticated Function URL passes it.
                               "authorizer": {"iam": {"userArn": "arn:aws:sts::111111111111:assumed-role/bench/bench"}},
                               "accountId": "111111111111", "requestId": f"bench-{number}", "stage": "$default",
                               "routeKey": "$default"},
            "body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}

times, post_response, cpu, first_answer = [], [], [], None
for number in range(requests):
    context = Context(number)
    api.invoke(context.aws_request_id, context.deadline_ms)
    began, cpu_began = time.perf_counter(), time.process_time()  # process_time: every thread's CPU
    response = handler(event(number), context)
    returned = time.perf_counter()
    if first_answer is None:
        first_answer = time.time()
    assert api.wait_until_frozen(60), "the extension did not call Next"  # until the environment may freeze
    times.append(returned - began)
    post_response.append(time.perf_counter() - returned)
    cpu.append(time.process_time() - cpu_began)
    if response["statusCode"] != 200:
        raise SystemExit(f"request {number} answered {response['statusCode']}: {response.get('body', '')[:500]}")
print(json.dumps({"bench_report": {"import_s": imported - started, "first_answer_s": first_answer - started,
                                   "times_s": times, "post_response_s": post_response, "cpu_s": cpu}}), flush=True)
"""


def lambda_process(env: dict, requests: int, *, warm: bool, timeout: float = 300) -> dict:
    env = {
        **os.environ,
        **DUMMY_AWS,
        **env,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AGENT_AUTH_MODE": "iam",
    }
    result = subprocess.run(
        [sys.executable, "-c", LAMBDA_CHILD, repr(time.time()), str(requests), PROMPT, "warm" if warm else "cold"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_DIR,
    )
    if result.returncode:
        raise RuntimeError(
            f"the Lambda child failed ({result.returncode}):\n{result.stderr[-2000:]}{result.stdout[-2000:]}"
        )
    return report_from_output(result.stdout)


def lambda_warm(stack: Stack, requests: int, warmup: int, *, tracing: bool) -> tuple[Summary, Summary, float]:
    """Per warm request: handler time (what the caller waits), post-response time (handler returned ->
    the extension's Next: billed, not waited for), and CPU seconds (handler and post-response work)."""
    report = lambda_process(stack.env(tracing=tracing), warmup + requests, warm=True)
    warm_cpu = report["cpu_s"][warmup:]
    return (
        Summary.of(report["times_s"][warmup:]),
        Summary.of(report["post_response_s"][warmup:]),
        sum(warm_cpu) / len(warm_cpu),
    )


def cold_start(stack: Stack, runs: int) -> list[dict]:
    env = stack.env(endpoint=ECHO_ENDPOINT)
    lambda_process(env, 1, warm=True)  # registers this agent version, as a first deployment would: not measured
    return [lambda_process(env, 1, warm=False) for _ in range(runs)]


# -- phase 4: 32 users vs 1 -----------------------------------------------------------------------


def stream_turn(agent_url: str, caller: str = "bench") -> float | int:
    """Seconds for a whole streamed turn (a new session), or the HTTP status / 0 (error event) of a refused one."""
    started = time.perf_counter()
    status, body = post(f"{agent_url}/invoke/stream", {"prompt": PROMPT}, caller=caller)
    elapsed = time.perf_counter() - started
    if status != 200:
        return status
    return elapsed if b"event: final" in body else 0


def concurrency(
    stack: Stack, users: int, turns_single: int, turns_each: int, sessions: str = "files", server: str = "uvloop"
) -> tuple[Summary, Summary, dict]:
    agent = stack.agent(endpoint=SLOW_ENDPOINT, sessions=sessions, server=server)
    try:
        for _ in range(2):
            stream_turn(agent.url)
        single = [stream_turn(agent.url) for _ in range(turns_single)]
        results: list[float | int] = []
        lock = threading.Lock()
        barrier = threading.Barrier(users)

        def user(index: int) -> None:
            barrier.wait(60)
            for _ in range(turns_each):
                outcome = stream_turn(
                    agent.url, caller=f"user-{index:03d}"
                )  # users are callers: each has its own turn limit
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=user, args=(index,), daemon=True) for index in range(users)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
    finally:
        agent.stop()
    refused: dict[str, int] = {}
    for outcome in single + results:
        if isinstance(outcome, int):
            key = str(outcome) if outcome else "error event"
            refused[key] = refused.get(key, 0) + 1
    answered = [value for value in results if isinstance(value, float)]
    return Summary.of([v for v in single if isinstance(v, float)]), Summary.of(answered), refused


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200, help="measured HTTP turns (and bare calls), tracing on")
    parser.add_argument("--turns-untraced", type=int, default=100, help="measured HTTP turns, tracing off")
    parser.add_argument("--long-turns", type=int, default=30, help="measured HTTP turns with a long answer")
    parser.add_argument("--long-words", type=int, default=300, help="words (streamed tokens) in the long answer")
    parser.add_argument("--lambda-requests", type=int, default=15, help="measured warm Lambda requests per side")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold-start processes measured")
    parser.add_argument("--users", type=int, default=32, help="concurrent users in phase 4")
    parser.add_argument("--single-turns", type=int, default=12, help="turns of the single user in phase 4")
    parser.add_argument("--turns-per-user", type=int, default=3, help="turns of each concurrent user in phase 4")
    args = parser.parse_args(argv)
    os.environ.update(DUMMY_AWS)
    began = time.monotonic()

    def phase(name: str) -> None:
        print(f"[{time.monotonic() - began:5.1f} s] {name}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-agent-") as scratch:
        phase("starting model servers, emulator, MLflow")
        with Stack(Path(scratch)) as stack:
            phase("1. HTTP turns vs bare invoke_endpoint, 50 ms model")
            agent, bare, cpu_on = http_phase(stack, args.turns, 10, tracing=True, bare=bare_invoke(stack))
            untraced, _, cpu_off = http_phase(stack, args.turns_untraced, 10, tracing=False, bare=None)
            print(
                f"HTTP turn, tracing on:    p50 {ms(agent.p50)}  p95 {ms(agent.p95)}  ({agent.count} turns)  "
                f"CPU {ms(cpu_on)} per turn"
            )
            print(
                f"HTTP turn, tracing off:   p50 {ms(untraced.p50)}  p95 {ms(untraced.p95)}  ({untraced.count} turns)  "
                f"CPU {ms(cpu_off)} per turn"
            )
            print(f"bare invoke_endpoint:     p50 {ms(bare.p50)}  p95 {ms(bare.p95)}  ({bare.count} calls)")
            print(f"  ratio (tracing on):     p50 {agent.p50 / bare.p50:.3f}  p95 {agent.p95 / bare.p95:.3f}")
            long_prompt = " ".join(f"word{number}" for number in range(args.long_words))
            long, _, cpu_long = http_phase(
                stack, args.long_turns, 3, tracing=True, bare=None, endpoint=ECHO_ENDPOINT, prompt=long_prompt
            )
            print(
                f"HTTP turn, {args.long_words}-token answer (echo model, tracing on): p50 {ms(long.p50)}  "
                f"({long.count} turns)  CPU {ms(cpu_long)} per turn"
            )

            phase("2. Lambda warm turns, tracing on vs off, 50 ms model")
            warm_on, after_on, lambda_cpu_on = lambda_warm(stack, args.lambda_requests, 3, tracing=True)
            warm_off, after_off, lambda_cpu_off = lambda_warm(stack, args.lambda_requests, 3, tracing=False)
            overhead = warm_on.p50 - warm_off.p50
            print(
                f"Lambda warm handler, tracing on:  p50 {ms(warm_on.p50)}  p95 {ms(warm_on.p95)}  "
                f"({warm_on.count} requests)  then post-response (billed) p50 {ms(after_on.p50)}  "
                f"p95 {ms(after_on.p95)}  CPU {ms(lambda_cpu_on)} per request"
            )
            print(
                f"Lambda warm handler, tracing off: p50 {ms(warm_off.p50)}  p95 {ms(warm_off.p95)}  "
                f"({warm_off.count} requests)  then post-response p50 {ms(after_off.p50)}  "
                f"CPU {ms(lambda_cpu_off)} per request"
            )
            print(f"  tracing overhead per warm request (p50 on - p50 off): {overhead * 1000:.1f} ms")

            phase("3. Lambda cold start, echo model")
            colds = cold_start(stack, args.cold_runs)
            cold = statistics.median(run["first_answer_s"] for run in colds)
            print(
                f"Lambda cold start (process start -> first answer): median {cold:.2f} s of "
                + ", ".join(f"{run['first_answer_s']:.2f}" for run in colds)
                + f"  (of which start + handler import: median {statistics.median(r['import_s'] for r in colds):.2f} s)"
            )

            phase(f"4. {args.users} concurrent users vs 1, 500 ms model, sessions in files then on S3")
            conc = {}
            for sessions in ("files", "s3"):
                one, many, refused = concurrency(
                    stack, args.users, args.single_turns, args.turns_per_user, sessions=sessions
                )
                conc[sessions] = (one, many)
                print(f"sessions {sessions}:")
                print(f"  1 user:   p50 {ms(one.p50)}  p95 {ms(one.p95)}  ({one.count} turns)")
                print(
                    f"  {args.users} users: p50 {ms(many.p50)}  p95 {ms(many.p95)}  ({many.count} turns answered"
                    + (f"; refused: {', '.join(f'{n}x {k}' for k, n in sorted(refused.items()))}" if refused else "")
                    + ")"
                )
                print(
                    f"  ratio {args.users} users / 1 user: p50 {many.p50 / one.p50:.3f}  p95 {many.p95 / one.p95:.3f}"
                )
            (one, many), (one_s3, many_s3) = conc["files"], conc["s3"]
            print(
                f"  S3 / files, same run: 1 user p50 {one_s3.p50 / one.p50:.3f}, "
                f"{args.users} users p50 {many_s3.p50 / many.p50:.3f}"
            )

            phase("5. server stack: phases 1 and 4 (files) again on asyncio + h11")
            plain, plain_bare, cpu_plain = http_phase(
                stack, args.turns, 10, tracing=True, bare=bare_invoke(stack), server="asyncio"
            )
            plain_one, plain_many, _ = concurrency(
                stack, args.users, args.single_turns, args.turns_per_user, server="asyncio"
            )
            print(
                f"asyncio + h11: HTTP turn p50 {ms(plain.p50)}  p95 {ms(plain.p95)}  CPU {ms(cpu_plain)} per turn; "
                f"{args.users} users / 1 user p50 {plain_many.p50 / plain_one.p50:.3f}"
            )
            print(
                f"  uvloop + httptools / asyncio + h11: CPU per turn {cpu_on / cpu_plain:.3f}, "
                f"p95 ratio to bare {(agent.p95 / bare.p95) / (plain.p95 / plain_bare.p95):.3f}, "
                f"{args.users}-user ratio {(many.p50 / one.p50) / (plain_many.p50 / plain_one.p50):.3f}"
            )
            phase("done")
    print(
        report_line(
            p50_ratio=agent.p50 / bare.p50,
            p95_ratio=agent.p95 / bare.p95,
            cold_init_s=cold,
            lambda_warm_overhead_ms=overhead * 1000,
            conc32_p50_ratio=many.p50 / one.p50,
            cpu_ms_per_turn=cpu_on * 1000,
            conc32_p50_ratio_s3=many_s3.p50 / one_s3.p50,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
