"""The metric contract: every metric an alarm, a scaling policy or a dashboard reads is one its publisher sends.

CloudWatch accepts an alarm on any namespace, name and dimensions, published or not; a name or a dimension
that nobody publishes leaves the alarm in INSUFFICIENT_DATA (or, with missing data "not breaching", OK)
forever, and a target-tracking policy never scales. Neither cfn-lint nor cdk-nag can tell. So each read is
checked against its publisher, one small object per namespace:

- `EmittedMetrics`: what the agent runtime actually writes as EMF, captured from the runtime's own publish
  functions run with the environment variables the stacks set (see `runtime_publisher`);
- `DocumentedMetrics`: what an AWS service publishes, by metric name with the dimension sets AWS documents
  (each with its source page). The only reading-based part: no offline executable publishes them.

A metric is identified by namespace, name and dimension names; for the runtime's metrics the dimension values
are compared too (they are literals on both sides: the environment name, the Powertools service).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class MetricRead:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, Any], ...]  # (name, value) sorted by name; values may be CloudFormation tokens
    reader: str  # the alarm, policy or dashboard (logical id) that reads it

    @property
    def dimension_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.dimensions)


class Publisher(Protocol):
    namespace: str

    def problems(self, read: MetricRead) -> list[str]:
        """Why `read` is not something this publisher sends ([] when it is)."""


@dataclass(frozen=True)
class DocumentedMetrics:
    namespace: str
    metrics: Mapping[str, tuple[frozenset[str], ...]]  # metric name -> the dimension sets it is published with
    source: str

    def problems(self, read: MetricRead) -> list[str]:
        dimension_sets = self.metrics.get(read.name)
        if dimension_sets is None:
            return [f"{read.reader}: {self.namespace} publishes no metric {read.name!r} ({self.source})"]
        if read.dimension_names not in dimension_sets:
            return [
                f"{read.reader}: {self.namespace} {read.name} is not published with dimensions "
                f"{sorted(read.dimension_names)} (published: {[sorted(s) for s in dimension_sets]}; {self.source})"
            ]
        return []


@dataclass(frozen=True)
class EmittedMetrics:
    namespace: str
    emitted: frozenset[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=frozenset)

    def problems(self, read: MetricRead) -> list[str]:
        if (read.name, read.dimensions) in self.emitted:
            return []
        same_name = sorted(dims for name, dims in self.emitted if name == read.name)
        if not same_name:
            return [f"{read.reader}: the runtime emits no metric {read.name!r} in {self.namespace}"]
        return [
            f"{read.reader}: the runtime emits {read.name} with dimensions {same_name}, not {list(read.dimensions)}"
        ]


def _dims(*names: str) -> frozenset[str]:
    return frozenset(names)


_VARIANT = _dims("EndpointName", "VariantName")
_COMPONENT = _dims("InferenceComponentName")
# Invocation metrics SageMaker publishes per variant and, for an inference component, per InferenceComponentName.
_INVOCATION_METRICS = (
    "Invocations",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "InvocationModelErrors",
    "ModelLatency",
    "OverheadLatency",
)
# What AWS services publish, for the metrics the kit reads (extend as the stacks read more).
AWS_PUBLISHERS: tuple[DocumentedMetrics, ...] = (
    DocumentedMetrics(
        "AWS/SageMaker",
        {
            **{name: (_VARIANT, _COMPONENT) for name in _INVOCATION_METRICS},
            **{name: (_VARIANT,) for name in ("InvocationsPerInstance", "ConcurrentRequestsPerModel")},
            **{name: (_COMPONENT,) for name in ("InvocationsPerCopy", "ConcurrentRequestsPerCopy")},
            # Emitted when a request reaches a component with no copy running
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
            "NoCapacityInvocationFailures": (_COMPONENT,),
        },
        "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html (endpoint invocation metrics; "
        "InferenceComponentName: inference component invocation metrics)",
    ),
    DocumentedMetrics(
        "/aws/sagemaker/InferenceComponents",
        {
            name: (_COMPONENT,)
            for name in (
                "CPUUtilizationNormalized",
                "MemoryUtilizationNormalized",
                "GPUUtilizationNormalized",
                "GPUMemoryUtilizationNormalized",
            )
        },
        "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html (inference component metrics, "
        "utilization over the copy's reservation)",
    ),
    DocumentedMetrics(
        "/aws/sagemaker/Endpoints",
        {
            name: (_VARIANT,)
            for name in (
                "CPUUtilization",
                "MemoryUtilization",
                "DiskUtilization",
                "GPUUtilization",
                "GPUMemoryUtilization",
            )
        },
        "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html (instance metrics), published "
        "as the execution role: cloudwatch:PutMetricData",
    ),
    DocumentedMetrics(
        "AWS/Lambda",
        {
            name: (_dims("FunctionName"), _dims("FunctionName", "Resource"))
            for name in ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions")
        },
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html",
    ),
    DocumentedMetrics(
        "AWS/ApplicationELB",
        {
            **{
                name: (_dims("LoadBalancer"), _dims("LoadBalancer", "TargetGroup"))
                for name in ("HTTPCode_Target_5XX_Count", "RequestCount", "TargetResponseTime")
            },
            "HTTPCode_ELB_5XX_Count": (_dims("LoadBalancer"),),
            "UnHealthyHostCount": (_dims("LoadBalancer", "TargetGroup"),),
        },
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
    ),
    DocumentedMetrics(
        "AWS/ECS",
        {name: (_dims("ClusterName", "ServiceName"),) for name in ("CPUUtilization", "MemoryUtilization")},
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html",
    ),
)


def metric_reads(template: Mapping[str, Any]) -> Iterator[MetricRead]:
    """Every metric the template's alarms, target-tracking policies and dashboards read."""
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::CloudWatch::Alarm":
            if "MetricName" in properties:
                yield _read(properties, logical_id)
            for query in properties.get("Metrics") or []:
                if "MetricStat" in query:
                    yield _read(query["MetricStat"]["Metric"], logical_id)
        elif kind == "AWS::ApplicationAutoScaling::ScalingPolicy":
            custom = (properties.get("TargetTrackingScalingPolicyConfiguration") or {}).get(
                "CustomizedMetricSpecification"
            )
            if custom and "MetricName" in custom:
                yield _read(custom, logical_id)
            for query in (custom or {}).get("Metrics") or []:
                if "MetricStat" in query:
                    yield _read(query["MetricStat"]["Metric"], logical_id)
        elif kind == "AWS::CloudWatch::Dashboard":
            yield from _dashboard_reads(properties["DashboardBody"], logical_id)


def contract_problems(reads: Iterable[MetricRead], publishers: Iterable[Publisher]) -> list[str]:
    by_namespace = {publisher.namespace: publisher for publisher in publishers}
    problems = []
    for read in reads:
        publisher = by_namespace.get(read.namespace)
        if publisher is None:
            problems.append(f"{read.reader}: nothing the kit models publishes namespace {read.namespace!r}")
        else:
            problems += publisher.problems(read)
    return sorted(set(problems))


def runtime_publisher(environment: Mapping[str, str]) -> EmittedMetrics:
    """The agent runtime's EMF metrics, as its publish functions write them with `environment` (the AGENT_*
    variables a stack sets; values CloudFormation resolves at deploy time may be placeholders)."""
    from agent_runtime.concurrency import SessionsSample, publish_sessions
    from agent_runtime.metrics import NAMESPACE, RequestMetrics, publish
    from agent_runtime.settings import RuntimeSettings

    with _environment(environment):
        settings = RuntimeSettings()
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        # Every optional metric present: the contract is what the runtime can send.
        publish(settings, RequestMetrics(time_to_first_token_ms=1.0))
        publish_sessions(settings, SessionsSample(average=1.0, peak=1, rejected=0, seconds=60.0))
    emitted = set()
    for line in stdout.getvalue().splitlines():
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if directive["Namespace"] != NAMESPACE:
                continue
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, document[name]) for name in dimension_set))
                emitted.update((metric["Name"], dimensions) for metric in directive["Metrics"])
    return EmittedMetrics(NAMESPACE, frozenset(emitted))


def _read(metric: Mapping[str, Any], reader: str) -> MetricRead:
    dimensions = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions") or []))
    return MetricRead(metric["Namespace"], metric["MetricName"], dimensions, reader)


def _dashboard_reads(body: Any, reader: str) -> Iterator[MetricRead]:
    """A dashboard body is JSON, usually an Fn::Join around tokens (the region); tokens become "${TOKEN}"."""
    if isinstance(body, dict) and "Fn::Join" in body:
        separator, parts = body["Fn::Join"]
        body = separator.join(part if isinstance(part, str) else "${TOKEN}" for part in parts)
    for widget in json.loads(body).get("widgets", []):
        for row in (widget.get("properties") or {}).get("metrics") or []:
            # [namespace, name, dim1, value1, ..., {options}]; a row of only options is an expression
            values = [item for item in row if not isinstance(item, dict)]
            if len(values) >= 2:
                namespace, name, *pairs = values
                dimensions = tuple(sorted(zip(pairs[0::2], pairs[1::2], strict=True)))
                yield MetricRead(namespace, name, dimensions, f"{reader} ({widget.get('properties', {}).get('title')})")


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
