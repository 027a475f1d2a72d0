"""A CloudWatch dashboard per environment: the LLM endpoint and the agent on one page.

Endpoint widgets read SageMaker's own metrics per variant (`AWS/SageMaker` invocation metrics,
`/aws/sagemaker/Endpoints` instance metrics); agent widgets read the runtime's EMF metrics
(`agent_runtime.metrics`: namespace `GovernedAgents`, dimensions Environment + service).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from agent_runtime.metrics import NAMESPACE as AGENT_NAMESPACE
from agent_runtime.metrics import SERVICE as AGENT_SERVICE
from kit_config.resource_names import dashboard_name
from kit_constructs.inference_endpoint import InferenceEndpoint

INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
PERIOD = Duration.minutes(1)
LATENCY_PERCENTILES = ("p50", "p95", "p99")
WIDTH = 12  # two graphs a row on CloudWatch's 24-column grid


@dataclass(frozen=True)
class OperationsDashboardProps:
    env_name: str
    project: str
    endpoint: InferenceEndpoint


class OperationsDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: OperationsDashboardProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self.variant_names = [variant.name for variant in props.endpoint.config.variants]
        self.dashboard_name = dashboard_name(props.project, props.env_name)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.dashboard_name,
            default_interval=Duration.hours(3),
            widgets=[
                [cloudwatch.TextWidget(markdown=self._header(), width=24, height=2)],
                [self._model_latency(), self._invocations()],
                [self._endpoint_errors(), self._instance_count()],
                [self._gpu_utilization(), self._agent_latency()],
                [self._agent_requests(), self._tokens()],
                [self._agent_calls(), self._cost_per_request()],
            ],
        )

    # --- the LLM endpoint, per variant ---------------------------------------------------------

    def _endpoint_metric(
        self, name: str, variant: str, statistic: str, namespace: str = INVOCATION_NAMESPACE
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            statistic=statistic,
            period=PERIOD,
            dimensions_map={"EndpointName": self._props.endpoint.endpoint_name, "VariantName": variant},
        )

    def _model_latency(self) -> cloudwatch.GraphWidget:
        # ModelLatency is published in microseconds; shown in milliseconds.
        # Metric-math ids must be unique within a graph (variant names may hold '-': use indexes).
        lines = [
            cloudwatch.MathExpression(
                expression=f"latency{index}{percentile} / 1000",
                using_metrics={
                    f"latency{index}{percentile}": self._endpoint_metric("ModelLatency", variant, percentile)
                },
                label=f"{variant} {percentile}",
                period=PERIOD,
            )
            for index, variant in enumerate(self.variant_names)
            for percentile in LATENCY_PERCENTILES
        ]
        return _graph("Model latency per variant (ms)", lines)

    def _invocations(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Invocations per variant",
            [
                self._endpoint_metric("Invocations", variant, "Sum").with_(label=variant)
                for variant in self.variant_names
            ],
        )

    def _endpoint_errors(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Endpoint errors (4XX, 5XX)",
            [
                self._endpoint_metric(name, variant, "Sum").with_(label=f"{variant} {name}")
                for variant in self.variant_names
                for name in ("Invocation4XXErrors", "Invocation5XXErrors")
            ],
        )

    def _instance_count(self) -> cloudwatch.GraphWidget:
        # SageMaker publishes no instance-count metric for real-time variants. Each request adds
        # 1/numberOfInstances to InvocationsPerInstance, so Invocations / InvocationsPerInstance is
        # the variant's instance count in every minute that has traffic (no point when idle).
        lines = [
            cloudwatch.MathExpression(
                expression=f"invocations{index} / perInstance{index}",
                using_metrics={
                    f"invocations{index}": self._endpoint_metric("Invocations", variant, "Sum"),
                    f"perInstance{index}": self._endpoint_metric("InvocationsPerInstance", variant, "Sum"),
                },
                label=f"{variant} instances",
                period=PERIOD,
            )
            for index, variant in enumerate(self.variant_names)
        ]
        return _graph("Instances per variant (Invocations / InvocationsPerInstance; minutes with traffic)", lines)

    def _gpu_utilization(self) -> cloudwatch.GraphWidget:
        return _graph(
            "GPU utilization and GPU memory (% summed over the instance's GPUs)",
            [
                self._endpoint_metric(name, variant, "Average", namespace=INSTANCE_NAMESPACE).with_(
                    label=f"{variant} {name}"
                )
                for variant in self.variant_names
                for name in ("GPUUtilization", "GPUMemoryUtilization")
            ],
        )

    # --- the agent (the runtime's EMF metrics) -------------------------------------------------

    def _agent_metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=AGENT_NAMESPACE,
            metric_name=name,
            statistic=statistic,
            period=PERIOD,
            dimensions_map={"Environment": self._props.env_name, "service": AGENT_SERVICE},
        )

    def _agent_latency(self) -> cloudwatch.GraphWidget:
        lines = [
            self._agent_metric("Latency", percentile).with_(label=f"latency {percentile}")
            for percentile in LATENCY_PERCENTILES
        ]
        lines += [
            self._agent_metric("TimeToFirstToken", percentile).with_(label=f"time to first token {percentile}")
            for percentile in LATENCY_PERCENTILES
        ]
        return _graph("Agent latency and time to first token (ms)", lines)

    def _agent_requests(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Agent requests, errors (5xx) and throttles (429)",
            [self._agent_metric(name, "Sum").with_(label=name) for name in ("Requests", "Errors", "Throttled")],
        )

    def _tokens(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Tokens", [self._agent_metric(name, "Sum").with_(label=name) for name in ("InputTokens", "OutputTokens")]
        )

    def _agent_calls(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Model calls, tool calls, retries, tracing failures",
            [
                self._agent_metric(name, "Sum").with_(label=name)
                for name in ("ModelCalls", "ToolCalls", "Retries", "TracingFailures")
            ],
        )

    def _cost_per_request(self) -> cloudwatch.GraphWidget:
        per_request = cloudwatch.MathExpression(
            expression="cost / requests",
            using_metrics={
                "cost": self._agent_metric("EstimatedCostUSD", "Sum"),
                "requests": self._agent_metric("Requests", "Sum"),
            },
            label="estimated $ per request",
            period=PERIOD,
        )
        total = self._agent_metric("EstimatedCostUSD", "Sum").with_(label="estimated $ per minute")
        return cloudwatch.GraphWidget(
            title="Estimated model cost (runtime's cost basis)",
            left=[per_request],
            right=[total],
            width=WIDTH,
            height=6,
        )

    def _header(self) -> str:
        props = self._props
        return (
            f"# {props.project} {props.env_name}\n"
            f"Endpoint `{props.endpoint.endpoint_name}` (variants: {', '.join(self.variant_names)}); "
            f"agent metrics from namespace `{AGENT_NAMESPACE}`, Environment `{props.env_name}`."
        )


def _graph(title: str, lines: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=lines, width=WIDTH, height=6)
