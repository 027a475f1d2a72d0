"""Percentiles, inter-token latency and throughput against hand-computed cases."""

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


def test_inter_token_latency_is_the_mean_gap_between_chunks():
    result = RequestResult(chunk_times_s=[0.2, 0.25, 0.4])  # gaps 0.05 and 0.15
    assert result.inter_token_latency_s == pytest.approx(0.1)
    assert RequestResult(chunk_times_s=[0.2]).inter_token_latency_s is None


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
    assert summary.aggregate_output_tokens_per_s == pytest.approx(10.0)
    assert summary.e2e_s[50] == pytest.approx(1.5)  # of the two successes only: 1.0 and 2.0
    assert summary.ttft_s[95] == pytest.approx(0.2 + 0.95 * 0.2)
    assert summary.inter_token_s[50] == pytest.approx((0.1 + 0.4) / 2)
    assert summary.output_tokens_per_s_per_request[50] == pytest.approx((10.0 + 15.0) / 2)
    metrics = summary.metrics()
    assert metrics["e2e_p50_s"] == pytest.approx(1.5) and metrics["error_rate"] == 0.25
    assert {"ttft_p99_s", "inter_token_p95_s", "output_tokens_per_s_per_request_p50"} <= set(metrics)
