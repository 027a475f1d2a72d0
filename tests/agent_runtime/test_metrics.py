"""EMF documents reach stdout whole: one write per document, newline included, so a log record
written by another thread can never land inside a metrics line."""

from __future__ import annotations

import json
import sys

from agent_runtime.concurrency import SessionsSample, publish_sessions
from agent_runtime.metrics import RequestMetrics, publish
from agent_runtime.settings import RuntimeSettings


class RecordingStdout:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_each_emf_document_is_one_write_ending_in_a_newline(monkeypatch):
    monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
    settings = RuntimeSettings()
    stdout = RecordingStdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    publish(settings, RequestMetrics(latency_ms=12.5, output_tokens=7, status=429))
    publish_sessions(settings, SessionsSample(average=1.5, peak=3, rejected=1, seconds=60.0))
    assert len(stdout.writes) == 2  # Powertools' flush_metrics would make it four (document, then "\n")
    documents = []
    for write in stdout.writes:
        assert write.endswith("\n") and write.count("\n") == 1
        documents.append(json.loads(write))
    names = [{m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]} for d in documents]
    assert {"Latency", "Throttled"} <= names[0] and documents[0]["Throttled"] in (
        1,
        [1.0],
    )  # Powertools writes a value or a list
    assert {"ConcurrentSessions", "ConcurrentSessionsPeak"} <= names[1] and documents[1]["ConcurrentSessionsPeak"] in (
        3,
        [3.0],
    )


def test_disabled_metrics_write_nothing(monkeypatch):
    monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    stdout = RecordingStdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    publish(RuntimeSettings(), RequestMetrics())
    assert stdout.writes == []


def test_a_short_turn_costs_its_exact_share_of_the_instance_not_zero(monkeypatch):
    """A 2 ms turn on a $1.00/hour instance shared by 4 requests costs $1.4e-7: the estimate (and the API's
    `usage.estimated_cost_usd`, which carries it unrounded) must not read 0."""
    monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
    settings = RuntimeSettings(instance_hourly_usd=1.0, concurrent_requests_per_instance=4)
    metrics = RequestMetrics(model_seconds=0.002)
    metrics.estimate_cost(settings)
    assert metrics.estimated_cost_usd == 0.002 * 1.0 / 3600 / 4
    assert round(metrics.estimated_cost_usd, 6) == 0  # what the API reported before: the bug this guards
