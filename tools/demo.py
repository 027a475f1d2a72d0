"""`make demo`: the whole local stack with the real small model, a short support conversation over
HTTP with streamed tokens, then proof that every request's trace is in the local MLflow server.

Starts `python -m local_runtime` (emulator, SmolLM2 model server, MLflow, agent service) on free
loopback ports with throwaway data directories, talks to the agent like a client would, checks
each request's trace and tags in MLflow, stops everything it started, and ends with the line
`demo ok requests=N traces=M` (exit 0 only when every request was answered and traced).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from local_runtime import processes  # noqa: E402

CONVERSATION = [
    "My VPN keeps disconnecting when I work from home. What should I do?",
    "It affects my whole team of 12 people, and we have a customer demo today.",
    "Thanks. Which ticket priority would that be?",
]
SESSION = f"demo-{int(time.time())}"


def start_stack(folder: Path) -> tuple[subprocess.Popen, dict[str, int]]:
    ports = {name: processes.free_port() for name in ("runtime", "model", "mlflow", "agent")}
    command = [
        sys.executable, "-m", "local_runtime", "--model", "real", "--port", str(ports["runtime"]),
        "--model-port", str(ports["model"]), "--mlflow-port", str(ports["mlflow"]), "--mlflow-dir", str(folder / "mlflow"),
        "--agent-port", str(ports["agent"]), "--session-dir", str(folder / "sessions"),
        # A small CPU model: short answers and a generous timeout keep the demo quick and reliable.
        "--agent-setting", "AGENT_MAX_TOKENS=160", "--agent-setting", "AGENT_REQUEST_TIMEOUT_SECONDS=180",
        "--agent-setting", "AGENT_READ_TIMEOUT_SECONDS=180",
    ]
    stack = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)}, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stack.stdout], daemon=True).start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if stack.poll() is not None:
                raise RuntimeError(f"the local stack exited with code {stack.returncode}")
            continue
        if "is up" in line:
            print(f"local stack up: agent http://127.0.0.1:{ports['agent']}, MLflow http://127.0.0.1:{ports['mlflow']}")
            return stack, ports
    raise TimeoutError("the local stack did not come up within 300 s")


def ask(agent_port: int, prompt: str) -> dict:
    """Stream one turn over HTTP, printing tokens as they arrive; return the final event."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{agent_port}/invoke/stream", data=json.dumps({"prompt": prompt, "session_id": SESSION}).encode(),
        headers={"Content-Type": "application/json"})
    print(f"\nuser> {prompt}\nagent> ", end="", flush=True)
    final: dict = {}
    with urllib.request.urlopen(request, timeout=240) as response:
        event = None
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: "):])
                if event == "token":
                    print(data["text"], end="", flush=True)
                elif event in ("final", "error"):
                    final = {"event": event, **data}
    if final.get("event") == "error":
        print(f"\n  [error {final.get('status')}: {final.get('error')}]")
        return final
    usage = final.get("usage", {})
    print(f"\n  [{final.get('event')}: {usage.get('output_tokens', 0)} tokens, first after "
          f"{usage.get('time_to_first_token_ms', 0):.0f} ms, trace {final.get('trace_id')}]")
    return final


def traced(mlflow_port: int, final: dict, timeout: float = 60) -> bool:
    import mlflow

    mlflow.set_tracking_uri(f"http://127.0.0.1:{mlflow_port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trace = mlflow.get_trace(final["trace_id"], silent=True) if final.get("trace_id") else None
        if trace is not None and trace.info.tags.get("agent.request_id") == final["request_id"]:
            return trace.info.tags.get("agent.session_id") == SESSION and trace.info.tags.get("agent.version") == final["agent_version"]
        time.sleep(0.5)
    return False


def main() -> int:
    import logging

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    # sagemaker-mlflow's header provider warns on every call to a non-ARN tracking URI.
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="agent-demo-") as scratch:
        stack, ports = start_stack(Path(scratch))
        answered = traces = 0
        try:
            finals = [ask(ports["agent"], prompt) for prompt in CONVERSATION]
            answered = sum(1 for final in finals if final.get("event") == "final")
            traces = sum(1 for final in finals if final.get("event") == "final" and traced(ports["mlflow"], final))
            print(f"\n{answered}/{len(CONVERSATION)} requests answered; {traces} traces found in MLflow with their tags")
        finally:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(60)
        ok = answered == traces == len(CONVERSATION)
        print(f"demo {'ok' if ok else 'FAILED'} requests={answered} traces={traces}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
