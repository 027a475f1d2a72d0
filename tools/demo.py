"""`make demo`: the whole local stack with the real small model, a short support conversation over
HTTP with streamed tokens, then proof that every request's trace is in the local MLflow server.

Starts `python -m local_runtime` (emulator, SmolLM2 model server, MLflow, agent service, local
identity provider) on free loopback ports with throwaway data directories, talks to the agent like
a client would (a bearer token of the local provider; the session id the first answer issues), checks
each request's trace and tags in MLflow, stops everything it started, and ends with the line
`demo ok requests=N traces=M` (exit 0 only when every request was answered and traced).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from local_runtime.launcher import LocalStack

CONVERSATION = [
    "My VPN keeps disconnecting when I work from home. What should I do?",
    "It affects my whole team of 12 people, and we have a customer demo today.",
    "Thanks. Which ticket priority would that be?",
]
CALLER = "demo-user"


def ask(agent_url: str, prompt: str, headers: dict[str, str], session_id: str | None) -> dict:
    """Stream one turn over HTTP (a new session unless `session_id`), printing tokens as they arrive;
    return the final event."""
    body = {"prompt": prompt, **({"session_id": session_id} if session_id else {})}
    request = urllib.request.Request(
        f"{agent_url}/invoke/stream",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    print(f"\nuser> {prompt}\nagent> ", end="", flush=True)
    final: dict = {}
    with urllib.request.urlopen(request, timeout=240) as response:
        event = None
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
                if event == "token":
                    print(data["text"], end="", flush=True)
                elif event in ("final", "error"):
                    final = {"event": event, **data}
    if final.get("event") == "error":
        print(f"\n  [error {final.get('status')}: {final.get('error')}]")
        return final
    usage = final.get("usage", {})
    print(
        f"\n  [{final.get('event')}: {usage.get('output_tokens', 0)} tokens, first after "
        f"{usage.get('time_to_first_token_ms', 0):.0f} ms, trace {final.get('trace_id')}]"
    )
    return final


def traced(mlflow_url: str, final: dict, timeout: float = 60) -> bool:
    from agent_runtime.trace_ids import read_trace  # on a 3.0.x server too (mlflow.get_trace is not)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trace = read_trace(mlflow_url, final["trace_id"]) if final.get("trace_id") else None
        if trace is not None and trace.info.tags.get("agent.request_id") == final["request_id"]:
            return (
                trace.info.tags.get("agent.session_id") == final["session_id"]
                and trace.info.tags.get("agent.version") == final["agent_version"]
                and bool(trace.info.tags.get("agent.caller_id"))
            )
        time.sleep(0.5)
    return False


def main() -> int:
    import logging

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    # sagemaker-mlflow's header provider warns on every call to a non-ARN tracking URI.
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="agent-demo-") as scratch:
        # A small CPU model: short answers and a generous timeout keep the demo quick and reliable.
        settings = {
            "AGENT_MAX_TOKENS": "160",
            "AGENT_REQUEST_TIMEOUT_SECONDS": "180",
            "AGENT_READ_TIMEOUT_SECONDS": "180",
        }
        answered = traces = 0
        with LocalStack(Path(scratch), model="real", agent_settings=settings) as stack:
            print(f"local stack up: agent {stack.agent_url}, MLflow {stack.mlflow_url}")
            headers, session_id, finals = stack.identity().headers(CALLER), None, []
            for prompt in CONVERSATION:
                finals.append(ask(stack.agent_url, prompt, headers, session_id))
                session_id = finals[-1].get("session_id", session_id)  # issued by the first answer
            answered = sum(1 for final in finals if final.get("event") == "final")
            traces = sum(1 for final in finals if final.get("event") == "final" and traced(stack.mlflow_url, final))
            print(
                f"\n{answered}/{len(CONVERSATION)} requests answered; {traces} traces found in MLflow with their tags"
            )
        ok = answered == traces == len(CONVERSATION)
        print(f"demo {'ok' if ok else 'FAILED'} requests={answered} traces={traces}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
