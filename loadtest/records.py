"""What one request measured: the row of the raw CSV/JSON and the input of every statistic.

Per-request figures follow AIPerf's definitions (its docs/metrics_reference.md and
aiperf/metrics/types/*.py, release 0.13): time to first token is measured to the first chunk that
carries content (an empty chunk, such as the role-only chunk servers send first, is not a token);
inter-token latency is (request latency - TTFT) / (output tokens - 1), where AIPerf's request
latency ends at the last content chunk (not at the usage chunk or the stream's end).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

OK, THROTTLED, ERROR = "ok", "throttled", "error"


@dataclass
class RequestResult:
    status: str = OK  # ok | throttled | error
    started_s: float = 0.0  # seconds since the run started
    e2e_s: float | None = None  # request sent -> stream finished (or failed)
    ttft_s: float | None = None  # request sent -> first NON-EMPTY content chunk (AIPerf's TTFT)
    output_tokens: int = 0  # the server's usage count when it sends one, else content chunks
    input_tokens: int | None = None
    chunk_times_s: list[float] = field(
        default_factory=list
    )  # arrival of each non-empty content chunk, from the request start
    error: str | None = None  # short: code and message
    stage: int = 0
    concurrency: int = 0
    worker: int = 0
    conversation: str = ""
    turn: int = 0
    session_id: str = ""
    model_calls: int | None = None  # agent target: from the final event's usage
    tool_calls: int | None = None
    server_estimated_cost_usd: float | None = None

    @property
    def ended_s(self) -> float:
        return self.started_s + (self.e2e_s or 0.0)

    @property
    def last_token_s(self) -> float | None:
        """Request sent -> last content chunk: AIPerf's request latency ("final response", content
        responses only), which the usage chunk and the stream's end do not lengthen."""
        return self.chunk_times_s[-1] if self.chunk_times_s else None

    @property
    def content_ended_s(self) -> float | None:
        """When the last content chunk arrived, in seconds since the run started."""
        return None if self.last_token_s is None else self.started_s + self.last_token_s

    @property
    def inter_token_latency_s(self) -> float | None:
        """AIPerf's inter-token latency: (request latency - TTFT) / (output tokens - 1), request latency
        ending at the last content chunk; None with fewer than 2 output tokens (undefined, as in AIPerf)."""
        if self.output_tokens < 2 or self.ttft_s is None or self.last_token_s is None:
            return None
        return (self.last_token_s - self.ttft_s) / (self.output_tokens - 1)

    @property
    def output_tokens_per_s(self) -> float | None:
        """What the caller saw: output tokens over the whole request (TTFT included)."""
        return self.output_tokens / self.e2e_s if self.status == OK and self.e2e_s else None

    def row(self) -> dict:
        """Flat row for the CSV (chunk times stay in the JSON)."""
        data = asdict(self)
        data.pop("chunk_times_s")
        data["ended_s"] = self.ended_s
        data["last_token_s"] = self.last_token_s
        data["inter_token_latency_s"] = self.inter_token_latency_s
        data["output_tokens_per_s"] = self.output_tokens_per_s
        return data
