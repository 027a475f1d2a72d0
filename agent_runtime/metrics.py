"""Per-request metrics, as CloudWatch EMF through Powertools (stdout -> CloudWatch Logs -> metrics)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent_runtime.settings import RuntimeSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import EphemeralMetrics

NAMESPACE = "GovernedAgents"
SERVICE = "agent"  # Powertools adds it as the `service` dimension


@dataclass
class RequestMetrics:
    latency_ms: float = 0.0
    time_to_first_token_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    retries: int = 0
    model_seconds: float = 0.0
    estimated_cost_usd: float = 0.0
    tracing_failures: int = 0
    untraced: int = 0  # 1: answered without a trace (MLflow set up but not ready yet, or unreachable)
    status: int = 200

    def estimate_cost(self, settings: RuntimeSettings) -> None:
        """Per-token price if configured; else the instance's $/hour shared by its concurrent requests."""
        if settings.usd_per_1k_output_tokens is not None:
            self.estimated_cost_usd = self.output_tokens / 1000 * settings.usd_per_1k_output_tokens
        elif settings.instance_hourly_usd is not None:
            per_second = settings.instance_hourly_usd / 3600 / settings.concurrent_requests_per_instance
            self.estimated_cost_usd = self.model_seconds * per_second


def publish(settings: RuntimeSettings, metrics: RequestMetrics) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    emf = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    emf.add_dimension(name="Environment", value=settings.env_name)
    emf.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=metrics.latency_ms)
    if metrics.time_to_first_token_ms is not None:
        emf.add_metric(name="TimeToFirstToken", unit=MetricUnit.Milliseconds, value=metrics.time_to_first_token_ms)
    for name, value in (
        ("InputTokens", metrics.input_tokens),
        ("OutputTokens", metrics.output_tokens),
        ("ModelCalls", metrics.model_calls),
        ("ToolCalls", metrics.tool_calls),
        ("Retries", metrics.retries),
        ("TracingFailures", metrics.tracing_failures),
        ("Untraced", metrics.untraced),
    ):
        emf.add_metric(name=name, unit=MetricUnit.Count, value=value)
    emf.add_metric(name="EstimatedCostUSD", unit=MetricUnit.NoUnit, value=metrics.estimated_cost_usd)
    # Always emitted (0 or 1), so alarms see a steady series rather than gaps.
    emf.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    emf.add_metric(name="Errors", unit=MetricUnit.Count, value=int(metrics.status >= 500))
    emf.add_metric(name="Throttled", unit=MetricUnit.Count, value=int(metrics.status == 429))
    write_emf(emf)


def write_emf(emf: EphemeralMetrics) -> None:
    """Write the EMF document and its newline in one call. Powertools' `flush_metrics` prints them
    as two writes, so a log record from another thread (MLflow's export, uvicorn) can land between
    them: two JSON documents on one line, which CloudWatch reads as neither a metric nor a log
    event. The logging handler writes each record in one call too."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if emf.metric_set and not is_metrics_disabled():
        sys.stdout.write(json.dumps(emf.serialize_metric_set(), separators=(",", ":")) + "\n")
    emf.clear_metrics()
