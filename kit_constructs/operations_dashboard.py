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
from kit_config.resource_names import dashboard_name
from kit_constructs.agent_service import DeployedAgent
from kit_constructs.inference_endpoint import InferenceEndpoint

PERIOD = Duration.minutes(1)
LATENCY_PERCENTILES = ("p50", "p95", "p99")
WIDTH = 12  # two graphs a row on CloudWatch's 24-column grid


@dataclass(frozen=True)
class OperationsDashboardProps:
    env_name: str
    project: str
    endpoint: InferenceEndpoint
    agent: DeployedAgent  # the runtime's metrics (no resource of the agent stack is referenced)


class OperationsDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: OperationsDashboardProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self._endpoint, self._agent = props.endpoint, props.agent
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

    def _model_latency(self) -> cloudwatch.GraphWidget:
        # ModelLatency is published in microseconds; shown in milliseconds.
        # Metric-math ids must be unique within a graph (variant names may hold '-': use indexes).
        lines = [
            cloudwatch.MathExpression(
                expression=f"latency{index}{percentile} / 1000",
                using_metrics={
                    f"latency{index}{percentile}": self._endpoint.serving(variant).metric_model_latency(percentile)
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
                self._endpoint.serving(variant).metric_invocations().with_(label=variant)
                for variant in self.variant_names
            ],
        )

    def _endpoint_errors(self) -> cloudwatch.GraphWidget:
        errors = [
            self._endpoint.serving(variant)
            .metric_invocation_errors(kind)
            .with_(label=f"{variant} Invocation{kind}Errors")
            for variant in self.variant_names
            for kind in ("4XX", "5XX")
        ]
        # Requests refused while a component was at zero copies (what wakes it; scale to zero).
        refusals = [
            component.metric_no_capacity_invocation_failures().with_(label=f"{variant} NoCapacityInvocationFailures")
            for variant, component in self._endpoint.inference_component_handles.items()
        ]
        title = "Endpoint errors (4XX, 5XX, refused at zero copies)" if refusals else "Endpoint errors (4XX, 5XX)"
        return _graph(title, errors + refusals)

    def _instance_count(self) -> cloudwatch.GraphWidget:
        # SageMaker publishes no instance-count metric for real-time variants. Each request adds
        # 1/numberOfInstances to InvocationsPerInstance (1/copies to an inference component's
        # InvocationsPerCopy), so Invocations / that is the count in every minute with traffic.
        lines = [self._serving_count(index, variant) for index, variant in enumerate(self.variant_names)]
        if self._endpoint.hosts_components:
            return _graph(
                "Copies per inference component (Invocations / InvocationsPerCopy; minutes with traffic)", lines
            )
        return _graph("Instances per variant (Invocations / InvocationsPerInstance; minutes with traffic)", lines)

    def _serving_count(self, index: int, variant: str) -> cloudwatch.MathExpression:
        if self._endpoint.hosts_components:
            served = self._endpoint.find_inference_component(variant)
            per_unit, unit, unit_id = served.metric_invocations_per_copy(), "copies", "perCopy"
        else:
            served = self._endpoint.find_variant(variant)
            per_unit, unit, unit_id = served.metric_invocations_per_instance(), "instances", "perInstance"
        return cloudwatch.MathExpression(
            expression=f"invocations{index} / {unit_id}{index}",
            using_metrics={f"invocations{index}": served.metric_invocations(), f"{unit_id}{index}": per_unit},
            label=f"{variant} {unit}",
            period=PERIOD,
        )

    def _gpu_utilization(self) -> cloudwatch.GraphWidget:
        return _graph(
            "GPU utilization and GPU memory (% summed over the instance's GPUs)",
            [
                line.with_(label=f"{variant} {name}")
                for variant in self.variant_names
                for name, line in (
                    ("GPUUtilization", self._endpoint.serving(variant).metric_gpu_utilization("Average")),
                    ("GPUMemoryUtilization", self._endpoint.serving(variant).metric_gpu_memory_utilization("Average")),
                )
            ],
        )

    # --- the agent (the runtime's EMF metrics) -------------------------------------------------

    def _agent_latency(self) -> cloudwatch.GraphWidget:
        lines = [
            self._agent.metric_latency(percentile).with_(label=f"latency {percentile}")
            for percentile in LATENCY_PERCENTILES
        ]
        lines += [
            self._agent.metric("TimeToFirstToken", percentile).with_(label=f"time to first token {percentile}")
            for percentile in LATENCY_PERCENTILES
        ]
        return _graph("Agent latency and time to first token (ms)", lines)

    def _agent_requests(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Agent requests, errors (5xx) and throttles (429)",
            [
                self._agent.metric_requests().with_(label="Requests"),
                self._agent.metric_errors().with_(label="Errors"),
                self._agent.metric_throttled().with_(label="Throttled"),
            ],
        )

    def _tokens(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Tokens", [self._agent.metric(name, "Sum").with_(label=name) for name in ("InputTokens", "OutputTokens")]
        )

    def _agent_calls(self) -> cloudwatch.GraphWidget:
        return _graph(
            "Model calls, tool calls, retries, tracing failures",
            [
                self._agent.metric(name, "Sum").with_(label=name)
                for name in ("ModelCalls", "ToolCalls", "Retries", "TracingFailures")
            ],
        )

    def _cost_per_request(self) -> cloudwatch.GraphWidget:
        per_request = cloudwatch.MathExpression(
            expression="cost / requests",
            using_metrics={
                "cost": self._agent.metric("EstimatedCostUSD", "Sum"),
                "requests": self._agent.metric_requests(),
            },
            label="estimated $ per request",
            period=PERIOD,
        )
        total = self._agent.metric("EstimatedCostUSD", "Sum").with_(label="estimated $ per minute")
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
