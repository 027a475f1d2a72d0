"""A cold Lambda environment in one process: import the real handler (Lambda's init), then invoke it.

    python tests/agent_runtime/lambda_process.py [--wait-for-tracing S] [--then-wait S]
        [--check-at-freeze MLFLOW_URL] PROMPT...

Lambda's side is the Runtime API test double (local_runtime/lambda_runtime_api.py): the handler's
internal extension registers with it during the import, each invocation sends it an INVOKE event,
and after the handler has returned the host waits until the extension has called `Next` (Lambda
may freeze the environment then). Each PROMPT becomes one Function URL event (a new
session each). `--wait-for-tracing S` sets MLflow up before the first invocation, as an earlier
invocation's post-response work would have (a warm environment), waiting up to S seconds. One `RESULT {json}` line per invocation: status, body, handler_ms (what the caller
waits), post_response_ms (handler returned -> the extension's `Next`: billed, not waited for),
since_start_s (process start -> handler returned, from /proc), the lineage status at return and
set-up's duration; with `--check-at-freeze`, `at_freeze`: every trace of this process so far as
the MLflow server at that URL holds it at the moment of `Next`. `--then-wait S` then waits up to
S seconds more for set-up and prints `SETUP {json}`. Used by tests/agent_runtime/test_cold_start.py
and test_lambda_handler.py.
"""

from __future__ import annotations

import time

T0 = time.monotonic()

import argparse  # noqa: E402
import base64  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

EVENT = Path(__file__).parent / "events" / "function_url.json"


def since_process_start() -> float:
    """Seconds since the kernel started this process (interpreter start-up included)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        return float(Path("/proc/uptime").read_text().split()[0]) - started
    except (OSError, ValueError, IndexError):
        return time.monotonic() - T0


class Context:
    function_name = "governed-agents-dev-agent"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:governed-agents-dev-agent"

    def __init__(self, number: int, deadline_ms: int) -> None:
        self.aws_request_id = f"c1d2e3f4-0000-4000-8000-{number:012d}"
        self.deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.deadline_ms - int(time.time() * 1000)


def stored_traces(tracking_uri: str, trace_ids: list[str]) -> list[dict]:
    """What the MLflow server holds of each trace now: state, spans (ended), the agent's tags."""
    from agent_runtime.trace_ids import read_trace  # on a 3.0.x server too (MlflowClient.get_trace is not)

    found = []
    for trace_id in trace_ids:
        try:
            trace = read_trace(tracking_uri, trace_id)
        except Exception:
            trace = None
        if trace is None:
            found.append({"trace_id": trace_id, "stored": False})
            continue
        found.append(
            {
                "trace_id": trace_id,
                "stored": True,
                "state": str(trace.info.state),
                "spans": len(trace.data.spans),
                "ended": all(span.end_time_ns is not None for span in trace.data.spans),
                "tags": {k: v for k, v in trace.info.tags.items() if k.startswith("agent.")},
            }
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("prompts", nargs="+")
    parser.add_argument("--wait-for-tracing", type=float, default=0)
    parser.add_argument("--then-wait", type=float, default=0)
    parser.add_argument("--check-at-freeze", metavar="MLFLOW_URL")
    args = parser.parse_args()

    from local_runtime.lambda_runtime_api import LambdaRuntimeApiDouble

    api = LambdaRuntimeApiDouble().start()
    os.environ["AWS_LAMBDA_RUNTIME_API"] = api.address
    from agent_runtime.lambda_handler import handler  # Lambda's init

    assert api.wait_until_frozen(10), "the extension did not call Next during init"

    lineage = handler.app.state.service.lineage
    template = json.loads(EVENT.read_text())
    if args.wait_for_tracing:
        lineage.set_up_now(args.wait_for_tracing)  # a warm environment: set up already
    trace_ids = []
    for count, prompt in enumerate(args.prompts, start=1):
        event = copy.deepcopy(template)
        event["body"] = json.dumps({"prompt": prompt})
        event["isBase64Encoded"] = False
        context = Context(count, int(time.time() * 1000) + 120_000)
        api.invoke(context.aws_request_id, context.deadline_ms)
        started = time.perf_counter()
        response = handler(event, context)
        returned = time.perf_counter()
        since_start, tracing, setup_seconds = since_process_start(), lineage.status, lineage.setup_seconds
        assert api.wait_until_frozen(120), "the extension did not call Next after the invocation"
        post_response_ms = (time.perf_counter() - returned) * 1000
        body = response["body"]
        body = json.loads(base64.b64decode(body).decode() if response.get("isBase64Encoded") else body)
        result = {
            "status": response["statusCode"],
            "body": body,
            "handler_ms": round((returned - started) * 1000, 1),
            "post_response_ms": round(post_response_ms, 1),
            "since_start_s": round(since_start, 3),
            "tracing": tracing,
            "setup_seconds": setup_seconds,
        }
        if args.check_at_freeze:  # at once: whatever is not stored now would be lost to a freeze
            trace_ids += [body["trace_id"]] if body.get("trace_id") else []
            result["at_freeze"] = stored_traces(args.check_at_freeze, trace_ids)
        print("RESULT " + json.dumps(result), flush=True)
    if args.then_wait:
        lineage.wait_until_set_up(args.then_wait)
        print("SETUP " + json.dumps({"tracing": lineage.status, "setup_seconds": lineage.setup_seconds}), flush=True)


if __name__ == "__main__":
    main()
