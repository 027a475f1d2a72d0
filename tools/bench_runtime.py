"""Benchmark of the local SageMaker runtime (`make bench-runtime`).

Method
------
1. Emulator overhead. A scripted model server (the test double, `echo` scenario) and the
   emulator in front of it run as separate processes on loopback. Two unmodified boto3
   `sagemaker-runtime` clients make the same `invoke_endpoint` call (a one-message chat body):
     - via the emulator: endpoint URL = the emulator;
     - direct: endpoint URL = the model server, with a botocore `before-send` hook that only
       rewrites the path `/endpoints/<name>/invocations` to the container's `/invocations`.
   Both therefore pay the same boto3 cost (serialize, SigV4-sign, send, parse) and keep-alive
   connections; the only difference is the emulator's hop. Calls alternate between the two
   clients (so machine noise hits both alike) after a warm-up; we report p50/p95 of each and the
   difference of the p50s (goal: < 1 ms) and of the p95s. Streaming is reported as time to the
   first PayloadPart through the emulator.
2. Real model. The SmolLM2-135M-Instruct server (llama.cpp) behind the emulator;
   `invoke_endpoint_with_response_stream` with a fixed prompt, temperature 0, max_tokens 128.
   Each run's user message differs (llama.cpp would otherwise serve the prompt from its cache).
   The stream is read as the container frames it (LMI's JSON lines; SSE too) with the load test's
   line parser. Time to first token = call start to the first PayloadPart completing a chunk with
   content; tokens/s = completion tokens (from the usage chunk) / (last content part - first).
   Median of the runs.

Options: --calls N (default 2000 per client), --model-runs N (default 5), --skip-model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from agent_runtime.model import stream_usage
from loadtest.targets import SseJsonLines
from local_runtime import processes
from local_runtime.endpoints import LocalEndpoint, LocalVariant, dump_endpoints

ENDPOINT = "bench"
CONFIG = Config(retries={"max_attempts": 1}, tcp_keepalive=True)
BODY = json.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": "ping"}]}]})


def start(name: str, module: str, port: int, *args: str, timeout: float = 90) -> processes.Child:
    url = f"http://127.0.0.1:{port}"
    child = processes.start(
        name,
        processes.python_module(module, "--port", str(port), *args),
        url,
        quiet=True,
    )
    processes.wait_until_ready(child, f"{url}/ping", timeout)
    return child


def start_emulator(upstream: str) -> processes.Child:
    folder = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    (folder / "endpoints.json").write_text(
        dump_endpoints([LocalEndpoint(ENDPOINT, (LocalVariant("AllTraffic", upstream),))])
    )
    return start(
        "emulator", "local_runtime.emulator", processes.free_port(), "--endpoints-file", str(folder / "endpoints.json")
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def direct_client(model_url: str):
    client = boto3.client("sagemaker-runtime", endpoint_url=model_url, config=CONFIG)

    def to_container(request, **_):
        request.url = request.url.replace(f"/endpoints/{ENDPOINT}/invocations", "/invocations")

    client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", to_container)
    return client


def overhead(calls: int) -> None:
    model = start("scripted model", "local_runtime.model_servers.scripted", processes.free_port())
    emulator = start_emulator(model.url)
    try:
        via = boto3.client("sagemaker-runtime", endpoint_url=emulator.url, config=CONFIG)
        direct = direct_client(model.url)
        samples: dict[str, list[float]] = {"via emulator": [], "direct": []}
        clients = {"via emulator": via, "direct": direct}
        for _ in range(200):  # warm-up: connections, caches
            for client in clients.values():
                client.invoke_endpoint(EndpointName=ENDPOINT, Body=BODY, ContentType="application/json")["Body"].read()
        for _ in range(calls):
            for name, client in clients.items():
                started = time.perf_counter()
                client.invoke_endpoint(EndpointName=ENDPOINT, Body=BODY, ContentType="application/json")["Body"].read()
                samples[name].append((time.perf_counter() - started) * 1000)
        first_part = []
        stream_body = json.dumps({"messages": [{"role": "user", "content": "ping"}], "stream": True})
        for _ in range(300):
            started = time.perf_counter()
            response = via.invoke_endpoint_with_response_stream(EndpointName=ENDPOINT, Body=stream_body)
            events = iter(response["Body"])
            next(events)
            first_part.append((time.perf_counter() - started) * 1000)
            for _ in events:
                pass
        print(f"\nEmulator overhead: boto3 invoke_endpoint, {calls} calls per path, alternating (ms)")
        print(f"  {'path':<14}{'p50':>9}{'p95':>9}{'mean':>9}")
        for name, values in samples.items():
            print(
                f"  {name:<14}{percentile(values, 50):9.3f}{percentile(values, 95):9.3f}{statistics.fmean(values):9.3f}"
            )
        added50 = percentile(samples["via emulator"], 50) - percentile(samples["direct"], 50)
        added95 = percentile(samples["via emulator"], 95) - percentile(samples["direct"], 95)
        verdict = "meets" if added50 < 1.0 else "MISSES"
        print(f"  added by the emulator: p50 {added50:.3f} ms, p95 {added95:.3f} ms ({verdict} the < 1 ms p50 goal)")
        print(
            f"  streaming via emulator, time to first PayloadPart: p50 {percentile(first_part, 50):.3f} ms, "
            f"p95 {percentile(first_part, 95):.3f} ms"
        )
    finally:
        emulator.stop()
        model.stop()


def real_model(runs: int) -> None:
    model = start("SmolLM2 model server", "local_runtime.model_servers.llama", processes.free_port())
    emulator = start_emulator(model.url)
    try:
        client = boto3.client(
            "sagemaker-runtime", endpoint_url=emulator.url, config=Config(retries={"max_attempts": 1}, read_timeout=120)
        )
        ttfts, rates, counts = [], [], []
        for run in range(runs + 1):  # run 0 warms the model up
            # A different user message each run: llama.cpp reuses a cached prompt prefix, and an
            # identical prompt would measure the cache, not prompt processing.
            prompt = f"Story number {run}. Write a short story about a robot who learns to paint."
            # The usage chunk comes only when asked for, as from vLLM/LMI (and as the agent asks).
            body = json.dumps(
                {
                    "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
                    "stream": True,
                    "max_tokens": 128,
                    "temperature": 0,
                    **stream_usage(),
                }
            )
            started = time.perf_counter()
            first, last, usage = stream_timings(
                client.invoke_endpoint_with_response_stream(EndpointName=ENDPOINT, Body=body)["Body"]
            )
            if run:
                ttfts.append((first - started) * 1000)
                rates.append((usage["completion_tokens"] - 1) / (last - first))
                counts.append(usage["completion_tokens"])
        print(
            f"\nReal model: SmolLM2-135M-Instruct Q4_1 (llama.cpp, CPU, {os.cpu_count()} cores) via the emulator, "
            f"streaming, {runs} runs, median"
        )
        print(
            f"  time to first token: {statistics.median(ttfts):.1f} ms   (min {min(ttfts):.1f}, max {max(ttfts):.1f})"
        )
        print(
            f"  generation speed:    {statistics.median(rates):.1f} tokens/s   ({statistics.median(counts):.0f} tokens per answer)"
        )
    finally:
        emulator.stop()
        model.stop()


def stream_timings(payload_parts) -> tuple[float | None, float | None, dict | None]:
    """(first content, last content, usage) of a streamed answer: perf_counter times of the parts
    that completed a chunk with text, and the final usage chunk's counters."""
    lines, first, last, usage = SseJsonLines(), None, None, None
    for event in payload_parts:
        chunks = lines.feed(event["PayloadPart"]["Bytes"])
        now = time.perf_counter()
        for chunk in chunks:
            if any((choice.get("delta") or {}).get("content") for choice in chunk.get("choices") or []):
                first, last = first or now, now
            usage = chunk.get("usage") or usage
    for chunk in lines.close():
        usage = chunk.get("usage") or usage
    return first, last, usage


def main() -> int:
    parser = argparse.ArgumentParser(description="Local SageMaker runtime benchmark")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--model-runs", type=int, default=5)
    parser.add_argument("--skip-model", action="store_true")
    args = parser.parse_args()
    # The emulator takes any key; set here, not on import, so importing stream_timings changes nothing.
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    overhead(args.calls)
    if not args.skip_model:
        real_model(args.model_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
