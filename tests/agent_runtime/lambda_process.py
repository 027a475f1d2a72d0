"""A cold Lambda environment in one process: import the real handler (Lambda's init), then invoke it.

    python tests/agent_runtime/lambda_process.py [--wait-for-tracing S] [--then-wait S] PROMPT...

Each PROMPT becomes one Function URL event (a new session each). `--wait-for-tracing S` waits
up to S seconds for MLflow set-up before the first invocation. One `RESULT {json}` line per
invocation: status, body, handler_ms, since_start_s (process start -> handler returned, from
/proc), the lineage status at return and set-up's duration. `--then-wait S` then waits up to S
seconds more for set-up and prints `SETUP {json}` (status, set-up duration). Used by
tests/agent_runtime/test_cold_start.py.
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
    aws_request_id = "c1d2e3f4-0000-4000-8000-0000000000cc"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("prompts", nargs="+")
    parser.add_argument("--wait-for-tracing", type=float, default=0)
    parser.add_argument("--then-wait", type=float, default=0)
    args = parser.parse_args()

    from agent_runtime.lambda_handler import handler  # Lambda's init

    lineage = handler.app.state.service.lineage
    template = json.loads(EVENT.read_text())
    if args.wait_for_tracing:
        lineage.wait_until_set_up(args.wait_for_tracing)
    for prompt in args.prompts:
        event = copy.deepcopy(template)
        event["body"] = json.dumps({"prompt": prompt})
        event["isBase64Encoded"] = False
        started = time.perf_counter()
        response = handler(event, Context())
        handler_ms = (time.perf_counter() - started) * 1000
        body = response["body"]
        body = base64.b64decode(body).decode() if response.get("isBase64Encoded") else body
        print("RESULT " + json.dumps({
            "status": response["statusCode"], "body": json.loads(body), "handler_ms": round(handler_ms, 1),
            "since_start_s": round(since_process_start(), 3), "tracing": lineage.status,
            "setup_seconds": lineage.setup_seconds,
        }), flush=True)
    if args.then_wait:
        lineage.wait_until_set_up(args.then_wait)
        print("SETUP " + json.dumps({"tracing": lineage.status, "setup_seconds": lineage.setup_seconds}), flush=True)


if __name__ == "__main__":
    main()
