"""What an endpoint serves, as handles that carry their CloudWatch metrics.

Like aws-cdk's sagemaker-alpha `Endpoint.findInstanceProductionVariant(name).metricModelLatency()`:
`InferenceEndpoint.find_variant(name)` returns a `ProductionVariantHandle` (dimensions EndpointName
and VariantName) and `find_inference_component(name)` an `InferenceComponentHandle` (dimension
InferenceComponentName). Both answer the same `metric_*` calls, so the alarms and the operations
dashboard read whichever one serves a variant's model (`InferenceEndpoint.serving(name)`).

Sources: "Amazon SageMaker AI metrics in Amazon CloudWatch"
(https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html): invocation metrics in
AWS/SageMaker per EndpointName+VariantName, or per InferenceComponentName for an inference
component; instance metrics in /aws/sagemaker/Endpoints, a component's share of its instances in
/aws/sagemaker/InferenceComponents (normalized to 0-100 %).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

INVOCATION_NAMESPACE = "AWS/SageMaker"
VARIANT_INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
COMPONENT_INSTANCE_NAMESPACE = "/aws/sagemaker/InferenceComponents"
METRIC_PERIOD = Duration.minutes(1)


class _ServedModelMetrics:
    """The metrics every served model has; subclasses say which dimensions name it."""

    name: str  # the variant's or the component's name
    dimensions: dict[str, str]
    instance_namespace: str
    gpu_utilization_metric = "GPUUtilization"
    gpu_memory_utilization_metric = "GPUMemoryUtilization"

    def metric(
        self,
        metric_name: str,
        statistic: str,
        *,
        namespace: str = INVOCATION_NAMESPACE,
        period: Duration = METRIC_PERIOD,
    ) -> cloudwatch.Metric:
        """One of SageMaker's metrics for what this handle names."""
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map=dict(self.dimensions),
            statistic=statistic,
            period=period,
        )

    def metric_model_latency(self, statistic: str) -> cloudwatch.Metric:
        """ModelLatency, in microseconds."""
        return self.metric("ModelLatency", statistic)

    def metric_invocations(self) -> cloudwatch.Metric:
        return self.metric("Invocations", "Sum")

    def metric_invocation_errors(self, kind: str) -> cloudwatch.Metric:
        """`kind`: 4XX or 5XX."""
        return self.metric(f"Invocation{kind}Errors", "Sum")

    def metric_invocation_4xx_error_rate(self) -> cloudwatch.MathExpression:
        """4XX errors as a percentage of invocations (0 without traffic).

        CloudWatch type-checks metric math when the alarm is created: MAX takes a time series or an array
        of time series, so `MAX([invocations, 1])` (a series and a scalar in one array) is rejected
        ("Unsupported operand type(s) for MAX: '[Array[TimeSeries, Scalar]]'") and the stack rolls back.
        IF(condition TS, TS, scalar) is the documented guard ("Using metric math", CloudWatch guide).
        Enforced for every expression by Kit-CloudWatchMetricMath.
        """
        return cloudwatch.MathExpression(
            expression="IF(invocations > 0, 100 * errors / invocations, 0)",
            using_metrics={"errors": self.metric_invocation_errors("4XX"), "invocations": self.metric_invocations()},
            label="4XX error rate (%)",
            period=METRIC_PERIOD,
        )

    def metric_gpu_utilization(self, statistic: str) -> cloudwatch.Metric:
        """Percent: summed over a variant's GPUs; a component's share, normalized to 0-100."""
        return self.metric(self.gpu_utilization_metric, statistic, namespace=self.instance_namespace)

    def metric_gpu_memory_utilization(self, statistic: str) -> cloudwatch.Metric:
        """Percent: summed over a variant's GPUs; a component's share, normalized to 0-100."""
        return self.metric(self.gpu_memory_utilization_metric, statistic, namespace=self.instance_namespace)


@dataclass(frozen=True)
class ProductionVariantHandle(_ServedModelMetrics):
    """A production variant of an endpoint that serves its own model (instance autoscaling)."""

    endpoint_name: str
    name: str
    instance_namespace = VARIANT_INSTANCE_NAMESPACE

    @property
    def dimensions(self) -> dict[str, str]:
        return {"EndpointName": self.endpoint_name, "VariantName": self.name}

    def metric_invocations_per_instance(self) -> cloudwatch.Metric:
        return self.metric("InvocationsPerInstance", "Sum")


@dataclass(frozen=True)
class InferenceComponentHandle(_ServedModelMetrics):
    """An inference component: a model placed as copies on a variant's instances (copy autoscaling)."""

    name: str
    variant_name: str
    instance_namespace = COMPONENT_INSTANCE_NAMESPACE
    gpu_utilization_metric = "GPUUtilizationNormalized"
    gpu_memory_utilization_metric = "GPUMemoryUtilizationNormalized"

    @property
    def dimensions(self) -> dict[str, str]:
        return {"InferenceComponentName": self.name}

    def metric_invocations_per_copy(self) -> cloudwatch.Metric:
        return self.metric("InvocationsPerCopy", "Sum")

    def metric_no_capacity_invocation_failures(self, period: Duration = METRIC_PERIOD) -> cloudwatch.Metric:
        """Requests refused because no copy was running: the signal that scales out from zero."""
        return self.metric("NoCapacityInvocationFailures", "Maximum", period=period)
