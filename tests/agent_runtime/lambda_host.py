"""A stand-in Lambda host for the log tests: a process that imports the handler as Lambda's runtime
would and feeds it Function URL events. The responses go to a file, so the process's stdout and
stderr hold nothing but what it logged.

Run: AGENT_AUTH_MODE=iam python tests/agent_runtime/lambda_host.py RESPONSES.json '[{"prompt": "..."}]'
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from pathlib import Path

EVENT = Path(__file__).parent / "events" / "function_url.json"


class Context:
    """The fields of Lambda's context object that Mangum and Powertools read."""

    function_name = "governed-agents-dev-agent"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:111111111111:function:governed-agents-dev-agent"

    def __init__(self, number: int) -> None:
        self.aws_request_id = f"c1d2e3f4-0000-4000-8000-{number:012d}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


def main(out: str, bodies: list[dict]) -> None:
    # Lambda's runtime puts a plain-text handler on the root logger before the handler is imported
    # (awslambdaric's `_setup_logging`); the kit must replace it, or lines come out twice, once as text.
    runtime_handler = logging.StreamHandler(sys.stderr)
    runtime_handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s\t%(message)s"))
    logging.getLogger().addHandler(runtime_handler)

    from agent_runtime.lambda_handler import handler

    # A warm environment: MLflow set-up (a background thread) has finished, so every turn is traced.
    assert handler.app.state.service.lineage.wait_until_set_up(60), "MLflow set-up did not finish"
    responses = []
    for number, body in enumerate(bodies, start=1):
        event = json.loads(EVENT.read_text())
        event["headers"]["x-request-id"] = f"req-lambda-log-{number}"
        raw = json.dumps(body)
        event["body"] = base64.b64encode(raw.encode()).decode() if event.get("isBase64Encoded") else raw
        response = handler(event, Context(number))
        payload = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"]
        responses.append(
            {
                "status": response["statusCode"],
                "body": json.loads(payload),
                "aws_request_id": Context(number).aws_request_id,
            }
        )
    Path(out).write_text(json.dumps(responses))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
