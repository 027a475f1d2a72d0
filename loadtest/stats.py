"""The figures of a run: latency percentiles, inter-token latency, throughput, error and throttle rates.

Percentiles use linear interpolation between closest ranks (numpy's default `method="linear"`,
the same as Excel's PERCENTILE.INC, and AIPerf's): for sorted x of n values, p -> x[(n-1)·p/100]
interpolated. Latency figures cover successful requests only; rates cover every request sent.

TTFT, inter-token latency and output token throughput are AIPerf's (docs/metrics_reference.md;
aiperf/metrics/types/ benchmark_duration_metric.py, output_token_throughput_metrics.py, release
0.13): output token throughput = output tokens of the successful requests / benchmark duration,
where the benchmark duration runs from the first successful request's start to the last content
chunk of any successful request (AIPerf computes both over valid records only: failed requests
add neither tokens nor time). `wall_s` (every request, to its stream's end) stays the basis of
requests/s and of the cost, which pays for the whole test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy

from loadtest.records import ERROR, OK, THROTTLED, RequestResult

PERCENTILES = (50, 95, 99)


def percentiles(values: Sequence[float], points: Sequence[float] = PERCENTILES) -> dict[float, float] | None:
    """{p: value} by linear interpolation, or None when there are no values."""
    if not values:
        return None
    found = numpy.percentile(numpy.asarray(values, dtype=float), list(points), method="linear")
    return {point: float(value) for point, value in zip(points, found, strict=True)}


@dataclass(frozen=True)
class Summary:
    requests: int
    succeeded: int
    throttled: int
    errors: int
    wall_s: float  # first request sent -> last request finished (every request)
    benchmark_duration_s: float  # AIPerf's: first successful request sent -> last content chunk of a successful one
    output_tokens: int  # successful requests only
    ttft_s: dict | None
    inter_token_latency_s: dict | None  # AIPerf's ITL; requests with fewer than 2 output tokens have none
    e2e_s: dict | None
    output_tokens_per_s_per_request: dict | None  # p50/p95/p99 of each request's tokens / e2e
    mean_output_tokens: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def throttle_rate(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    @property
    def output_token_throughput_per_s(self) -> float:
        """AIPerf's output token throughput: output tokens / benchmark duration (successful requests)."""
        return self.output_tokens / self.benchmark_duration_s if self.benchmark_duration_s else 0.0

    def metrics(self) -> dict[str, float]:
        """Flat numeric figures (MLflow metric names); percentiles as e.g. `e2e_p95_s`."""
        figures = {
            "requests": self.requests,
            "succeeded": self.succeeded,
            "throttled": self.throttled,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "throttle_rate": self.throttle_rate,
            "wall_s": self.wall_s,
            "requests_per_s": self.requests_per_s,
            "output_tokens": self.output_tokens,
            "benchmark_duration_s": self.benchmark_duration_s,
            "output_token_throughput_per_s": self.output_token_throughput_per_s,
        }
        if self.mean_output_tokens is not None:
            figures["mean_output_tokens"] = self.mean_output_tokens
        for name, unit in (
            ("ttft", "_s"),
            ("inter_token_latency", "_s"),
            ("e2e", "_s"),
            ("output_tokens_per_s_per_request", ""),
        ):
            for point, value in (getattr(self, name + unit if unit else name) or {}).items():
                figures[f"{name}_p{point:g}{unit}"] = value
        return figures

    def as_dict(self) -> dict:
        return {**asdict(self), **self.metrics()}


def summarise(results: Sequence[RequestResult]) -> Summary:
    succeeded = [r for r in results if r.status == OK]
    started = min((r.started_s for r in results), default=0.0)
    ended = max((r.ended_s for r in results), default=0.0)
    itl = [value for r in succeeded if (value := r.inter_token_latency_s) is not None]
    answered = [r for r in succeeded if r.content_ended_s is not None]
    benchmark_duration = (
        max(r.content_ended_s for r in answered) - min(r.started_s for r in succeeded) if answered else 0.0
    )
    return Summary(
        requests=len(results),
        succeeded=len(succeeded),
        throttled=sum(1 for r in results if r.status == THROTTLED),
        errors=sum(1 for r in results if r.status == ERROR),
        wall_s=max(ended - started, 0.0),
        benchmark_duration_s=max(benchmark_duration, 0.0),
        output_tokens=sum(r.output_tokens for r in succeeded),
        ttft_s=percentiles([r.ttft_s for r in succeeded if r.ttft_s is not None]),
        inter_token_latency_s=percentiles(itl),
        e2e_s=percentiles([r.e2e_s for r in succeeded if r.e2e_s is not None]),
        output_tokens_per_s_per_request=percentiles([v for r in succeeded if (v := r.output_tokens_per_s) is not None]),
        mean_output_tokens=(sum(r.output_tokens for r in succeeded) / len(succeeded)) if succeeded else None,
    )
