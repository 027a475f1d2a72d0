"""Counts the endpoint calls of one request and botocore's retries of them (the `Retries` metric).

botocore retries inside one API call (adaptive mode, `AGENT_MAX_ATTEMPTS`), invisibly to Strands.
Its client events tell us: `before-call` fires once per API call, `before-send` once per HTTP
attempt, so retries = sends - calls. The counter of the current request travels in a context
variable: Strands runs the client in `asyncio.to_thread`, which copies the caller's context.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

SERVICE_EVENT = "sagemaker-runtime"


@dataclass
class EndpointAttempts:
    calls: int = 0
    sends: int = 0

    @property
    def retries(self) -> int:
        return max(0, self.sends - self.calls)


CURRENT: ContextVar[EndpointAttempts | None] = ContextVar("endpoint_attempts", default=None)


def _on_call(**_) -> None:
    if (attempts := CURRENT.get()) is not None:
        attempts.calls += 1


def _on_send(**_) -> None:  # returns None: botocore then sends the request itself
    if (attempts := CURRENT.get()) is not None:
        attempts.sends += 1


def count_attempts(client) -> None:
    """Register the counters on a boto3 `sagemaker-runtime` client (once per client)."""
    client.meta.events.register(f"before-call.{SERVICE_EVENT}", _on_call, unique_id="agent-attempts-call")
    client.meta.events.register(f"before-send.{SERVICE_EVENT}", _on_send, unique_id="agent-attempts-send")
