"""What one request measured: the row of the raw CSV/JSON and the input of every statistic."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

OK, THROTTLED, ERROR = "ok", "throttled", "error"


@dataclass
class RequestResult:
    status: str = OK  # ok | throttled | error
    started_s: float = 0.0  # seconds since the run started
    e2e_s: float | None = None  # request sent -> stream finished (or failed)
    ttft_s: float | None = None  # request sent -> first content token
    output_tokens: int = 0  # the server's usage count when it sends one, else streamed chunks
    input_tokens: int | None = None
    chunk_times_s: list[float] = field(default_factory=list)  # arrival of each content chunk, from the request start
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
    def inter_token_latency_s(self) -> float | None:
        """Mean gap between content chunks (first to last), or None with fewer than two."""
        times = self.chunk_times_s
        return (times[-1] - times[0]) / (len(times) - 1) if len(times) >= 2 else None

    @property
    def output_tokens_per_s(self) -> float | None:
        """What the caller saw: output tokens over the whole request (TTFT included)."""
        return self.output_tokens / self.e2e_s if self.status == OK and self.e2e_s else None

    def row(self) -> dict:
        """Flat row for the CSV (chunk times stay in the JSON)."""
        data = asdict(self)
        data.pop("chunk_times_s")
        data["ended_s"] = self.ended_s
        data["inter_token_latency_s"] = self.inter_token_latency_s
        data["output_tokens_per_s"] = self.output_tokens_per_s
        return data
