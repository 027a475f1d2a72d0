"""Percentiles, inter-token latency and throughput against hand-computed cases (AIPerf's definitions:
docs/metrics_reference.md, aiperf/metrics/types/*.py, release 0.13)."""

from __future__ import annotations

import pytest

from loadtest.records import ERROR, OK, THROTTLED, RequestResult
from loadtest.stats import percentiles, summarise


def test_percentiles_interpolate_linearly_between_closest_ranks():
    # n=4: rank (n-1)·p/100 -> p50 at 1.5 (2.5), p95 at 2.85 (3 + 0.85), p99 at 2.97 (3.97)
    found = percentiles([4.0, 1.0, 3.0, 2.0])
    assert found == pytest.approx({50: 2.5, 95: 3.85, 99: 3.97})


def test_percentiles_of_one_value_and_of_none():
    assert percentiles([0.7]) == {50: 0.7, 95: 0.7, 99: 0.7}
    assert percentiles([]) is None


def test_inter_token_latency_is_aiperfs_latency_minus_ttft_over_tokens_minus_one():
    # 5 tokens in 3 chunks (a chunk need not be one token): TTFT 0.2, last content chunk at 0.6.
    # AIPerf: (request latency - TTFT) / (OSL - 1) = (0.6 - 0.2) / 4 = 0.1, whatever the chunk gaps
    # (0.05 and 0.35, whose mean the old definition took); the stream's end (e2e 0.9: usage chunk,
    # [DONE]) is not part of AIPerf's request latency.
    result = RequestResult(e2e_s=0.9, ttft_s=0.2, output_tokens=5, chunk_times_s=[0.2, 0.25, 0.6])
    assert result.last_token_s == pytest.approx(0.6)
    assert result.inter_token_latency_s == pytest.approx(0.1)


def test_a_one_token_answer_has_no_inter_token_latency():
    # OSL 1: AIPerf's divisor is 0, the metric is undefined (NoMetricValue) and left out of the percentiles
    one = RequestResult(status=OK, e2e_s=0.5, ttft_s=0.3, output_tokens=1, chunk_times_s=[0.3])
    assert one.inter_token_latency_s is None
    two = RequestResult(status=OK, started_s=1.0, e2e_s=1.0, ttft_s=0.4, output_tokens=2, chunk_times_s=[0.4, 0.6])
    summary = summarise([one, two])
    assert summary.inter_token_latency_s == pytest.approx({50: 0.2, 95: 0.2, 99: 0.2})  # `two` alone: 0.2 / 1
    assert summary.ttft_s[50] == pytest.approx(0.35)  # both have a TTFT


def test_an_empty_first_chunk_is_not_the_first_token():
    # The role-only chunk servers send first ("content": "") and the usage chunk carry no token: TTFT
    # is the first chunk with content (AIPerf's content_responses), the last content chunk ends the
    # request latency.
    from loadtest import targets

    readings = iter([0.5, 0.8, 0.9])  # seconds since the request was sent, read for content chunks only
    result, pieces = RequestResult(), []
    chunks = [
        {"choices": [{"delta": {"role": "assistant", "content": ""}}]},
        {"choices": [{"delta": {"content": "Hello"}}]},
        {"choices": [{"delta": {"content": ""}}]},
        {"choices": [{"delta": {"content": " there"}}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}}]},
        {"choices": [], "usage": {"completion_tokens": 3}},
    ]
    usage = [targets.EndpointTarget._take(chunk, result, pieces, lambda: next(readings)) for chunk in chunks]
    assert result.ttft_s == pytest.approx(0.5) and result.chunk_times_s == pytest.approx([0.5, 0.8, 0.9])
    assert "".join(pieces) == "Hello there" and usage[-1] == {"completion_tokens": 3}
    result.output_tokens = 3
    assert result.inter_token_latency_s == pytest.approx((0.9 - 0.5) / 2)


def test_summary_counts_rates_and_throughput_by_hand():
    results = [
        RequestResult(status=OK, started_s=0.0, e2e_s=1.0, ttft_s=0.2, output_tokens=10, chunk_times_s=[0.2, 0.3, 0.4]),
        RequestResult(status=OK, started_s=0.5, e2e_s=2.0, ttft_s=0.4, output_tokens=30, chunk_times_s=[0.4, 0.8]),
        RequestResult(status=THROTTLED, started_s=1.0, e2e_s=0.1),
        RequestResult(status=ERROR, started_s=3.0, e2e_s=1.0),
    ]
    summary = summarise(results)
    assert (summary.requests, summary.succeeded, summary.throttled, summary.errors) == (4, 2, 1, 1)
    assert summary.wall_s == pytest.approx(4.0)  # first start 0.0 -> last end 3.0 + 1.0
    assert summary.error_rate == 0.25 and summary.throttle_rate == 0.25
    assert summary.requests_per_s == pytest.approx(1.0)
    assert summary.output_tokens == 40
    # AIPerf's benchmark duration: successful requests only, first start 0.0 -> last content chunk
    # 0.5 + 0.8 = 1.3 (not the stream's end 2.5, nor the error's end 4.0); 40 tokens / 1.3 s
    assert summary.benchmark_duration_s == pytest.approx(1.3)
    assert summary.output_token_throughput_per_s == pytest.approx(40 / 1.3)
    assert summary.e2e_s[50] == pytest.approx(1.5)  # of the two successes only: 1.0 and 2.0
    assert summary.ttft_s[95] == pytest.approx(0.2 + 0.95 * 0.2)
    # (0.4 - 0.2) / 9 and (0.8 - 0.4) / 29
    assert summary.inter_token_latency_s[50] == pytest.approx((0.2 / 9 + 0.4 / 29) / 2)
    assert summary.output_tokens_per_s_per_request[50] == pytest.approx((10.0 + 15.0) / 2)
    metrics = summary.metrics()
    assert metrics["e2e_p50_s"] == pytest.approx(1.5) and metrics["error_rate"] == 0.25
    assert metrics["output_token_throughput_per_s"] == pytest.approx(40 / 1.3)
    assert metrics["benchmark_duration_s"] == pytest.approx(1.3)
    assert {"ttft_p99_s", "inter_token_latency_p95_s", "output_tokens_per_s_per_request_p50"} <= set(metrics)
