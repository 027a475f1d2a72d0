"""An environment's monthly cost envelope: what it costs idle at minimum capacity and fully scaled out.

Computed from the validated `EnvironmentConfig` only (no AWS calls). Usage-driven charges that
config cannot bound (data processed, logs, S3, KMS requests, data transfer) are listed as
exclusions, not guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from costing import prices
from costing.prices import Price
from kit_config import EnvironmentConfig
from kit_config.agent_schema import FargateAgent, LambdaAgent
from kit_config.budget_schema import BudgetConfig
from kit_config.instance_catalogue import HOURS_PER_MONTH, INSTANCE_CATALOGUE
from kit_config.instance_catalogue import PRICE_SOURCE as INSTANCE_PRICE_SOURCE
from kit_config.schema import MlflowTrackingServerConfig

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
# Assumed mean billed duration of one agent request on Lambda: the function waits on the LLM
# for most of a turn. Only the per-million-requests figure depends on it; the envelope's
# maximum is reserved concurrency busy all month, whatever the duration.
ASSUMED_LAMBDA_SECONDS_PER_REQUEST = 10.0
# An ALB LCU covers 25 new connections per second (and 3,000 active connections per minute,
# 1 GB per hour, 1,000 rule evaluations per second); agent traffic is far below the others.
ALB_NEW_CONNECTIONS_PER_LCU_SECOND = 25
EXCLUDED = (
    "usage charges config cannot bound: PrivateLink and ALB data processed, CloudWatch Logs ingestion and "
    "storage, CloudWatch alarms (~$0.10 each), S3 storage and requests, KMS requests, data transfer, "
    "MLflow metadata storage, AWS Budgets beyond the account's free budgets, Route 53 DNS queries"
)


class PriceNotListed(Exception):
    """The region has no price for a figure the envelope needs."""


@dataclass(frozen=True)
class LineItem:
    component: str
    min_usd: float
    max_usd: float | None  # None: config sets no ceiling (e.g. Lambda without reserved concurrency)
    basis: str


@dataclass(frozen=True)
class RolloutPeak:
    """An endpoint update at full scale-out: blue/green holds both fleets until the old one is terminated (a
    component's rolling update, one more batch of copies).

    Not a monthly figure: it lasts for one rollout, at most the rollout's MaximumExecutionTimeout.
    """

    instances: dict[str, int]  # instance type -> instances at the peak (InferenceConfig.rollout_peak_instances)
    hourly_usd: float  # at the peak, per hour
    extra_hourly_usd: float  # over the fully scaled-out endpoint
    max_hours: float  # InferenceConfig.rollout_timeout_seconds() / 3600
    rolling: bool = False  # an inference component's rolling update (one more batch), not blue/green

    @property
    def extra_usd_per_update(self) -> float:
        return round(self.extra_hourly_usd * self.max_hours + 1e-9, 2)  # half-up, not float-binary down


@dataclass(frozen=True)
class Envelope:
    env: str
    region: str
    items: list[LineItem]
    budget: BudgetConfig
    notes: list[str] = field(default_factory=list)
    rollout: RolloutPeak | None = None
    # What scale to zero saves on the idle floor: the instance each scale-to-zero component's variant would
    # otherwise keep (min 1, the least a variant serving its own model can hold). 0: nothing scales to zero.
    scale_to_zero_saving_usd: float = 0.0

    @property
    def min_usd(self) -> float:
        return round(sum(item.min_usd for item in self.items), 2)

    @property
    def max_usd(self) -> float:
        """The maximum of the bounded items; see `unbounded` for those config sets no ceiling on."""
        return round(sum(item.max_usd for item in self.items if item.max_usd is not None), 2)

    @property
    def unbounded(self) -> list[str]:
        return [item.component for item in self.items if item.max_usd is None]


def cost_envelope(config: EnvironmentConfig) -> Envelope:
    region = config.region
    items = [
        *_endpoint(config),
        _mlflow(config),
        *_agent(config),
        _interface_endpoints(config),
        _kms_keys(region),
        _dashboard(region),
        LineItem("NAT gateways", 0.0, 0.0, "none: isolated subnets, no NAT or internet gateway"),
    ]
    notes = [
        f"SageMaker instance prices: {INSTANCE_PRICE_SOURCE} (kit_config/instance_catalogue.py)",
        f"{HOURS_PER_MONTH} hours a month; on-demand list prices, before tax, credits or Savings Plans",
        f"not included: {EXCLUDED}",
    ]
    if isinstance(config.agent, LambdaAgent):
        notes.append(f"Lambda per-request figures assume {ASSUMED_LAMBDA_SECONDS_PER_REQUEST:g} s mean billed duration")
    return Envelope(
        config.name,
        region,
        items,
        config.budget,
        notes,
        rollout=_rollout_peak(config),
        scale_to_zero_saving_usd=_scale_to_zero_saving(config),
    )


def _scale_to_zero_saving(config: EnvironmentConfig) -> float:
    saving = 0.0
    for variant in config.inference.variants:
        if variant.inference_component and variant.inference_component.scales_to_zero:
            saving += variant.spec.monthly_usd(config.region, 1) or 0.0
    return round(saving, 2)


def _rollout_peak(config: EnvironmentConfig) -> RolloutPeak:
    inference = config.inference
    peak = inference.rollout_peak_instances()
    hourly = {instance_type: INSTANCE_CATALOGUE[instance_type].hourly_usd.get(config.region) for instance_type in peak}
    missing = [instance_type for instance_type, price in hourly.items() if price is None]
    if missing:
        raise PriceNotListed(f"{missing[0]} has no {config.region} price in kit_config/instance_catalogue.py")
    peak_hourly = sum(count * hourly[instance_type] for instance_type, count in peak.items())
    # Over the fully scaled-out endpoint: the second fleet (blue/green), or one batch of copies (rolling).
    scaled_out = sum(v.autoscaling.max_instances * hourly[v.instance_type] for v in inference.variants)
    return RolloutPeak(
        peak,
        round(peak_hourly, 2),
        round(peak_hourly - scaled_out, 2),
        inference.rollout_timeout_seconds() / 3600,
        rolling=inference.hosts_inference_components and inference.deployment.strategy == "rolling",
    )


def _endpoint(config: EnvironmentConfig) -> list[LineItem]:
    items = []
    for variant in config.inference.variants:
        spec, scaling = variant.spec, variant.autoscaling
        hourly = spec.hourly_usd.get(config.region)
        if hourly is None:
            raise PriceNotListed(
                f"{variant.instance_type} has no {config.region} price in kit_config/instance_catalogue.py"
            )
        component = variant.inference_component
        zero = " (scales to zero: inference component, idle $0)" if component and component.scales_to_zero else ""
        items.append(
            LineItem(
                f"Endpoint variant {variant.name}",
                spec.monthly_usd(config.region, scaling.min_instances),
                spec.monthly_usd(config.region, scaling.max_instances),
                f"{scaling.min_instances}-{scaling.max_instances} x {variant.instance_type} x ${hourly:.3f}/h{zero}",
            )
        )
    return items


def _mlflow(config: EnvironmentConfig) -> LineItem:
    mlflow = config.mlflow
    if isinstance(mlflow, MlflowTrackingServerConfig):
        hourly = _price(prices.MLFLOW_TRACKING_SERVER_HOUR[mlflow.size], config.region)
        monthly = round(hourly * HOURS_PER_MONTH, 2)
        return LineItem(f"MLflow tracking server ({mlflow.size})", monthly, monthly, f"${hourly:.2f}/h while it exists")
    return LineItem(
        "MLflow App (serverless)", 0.0, 0.0, "no hourly charge while idle; usage and storage billed separately"
    )


def _agent(config: EnvironmentConfig) -> list[LineItem]:
    agent = config.agent
    if isinstance(agent, FargateAgent):
        return [
            _fargate(agent, config.region),
            _load_balancer(agent, config.region),
            _hosted_zone(agent, config.region),
        ]
    return [_lambda(agent, config.region)]


def _hosted_zone(agent: FargateAgent, region: str) -> LineItem:
    """The agent's private hosted zone (agent.dns): the kit creates one unless config names an existing zone."""
    if agent.dns is not None and agent.dns.hosted_zone_id is None:
        monthly = _price(prices.HOSTED_ZONE_MONTH, region)
        return LineItem("Private hosted zone", monthly, monthly, f"1 zone for {agent.dns.zone_name} (kit-created)")
    return LineItem("Private hosted zone", 0.0, 0.0, "none created: the agent's record goes into an existing zone")


def _fargate(agent: FargateAgent, region: str) -> LineItem:
    vcpu, memory_gb = agent.cpu / 1024, agent.memory_mb / 1024
    task_hourly = vcpu * _price(prices.FARGATE_VCPU_HOUR, region) + memory_gb * _price(prices.FARGATE_GB_HOUR, region)
    task_monthly = task_hourly * HOURS_PER_MONTH
    return LineItem(
        "Agent on Fargate",
        round(task_monthly * agent.min_tasks, 2),
        round(task_monthly * agent.max_tasks, 2),
        f"{agent.min_tasks}-{agent.max_tasks} tasks x ({vcpu:g} vCPU + {memory_gb:g} GB) = ${task_hourly:.5f}/task-h",
    )


def _load_balancer(agent: FargateAgent, region: str) -> LineItem:
    hourly, lcu_hourly = _price(prices.ALB_HOUR, region), _price(prices.ALB_LCU_HOUR, region)
    # At full scale-out every task takes `requests_per_target` requests a minute, each a new connection at worst.
    connections_per_second = agent.max_tasks * agent.requests_per_target / 60
    lcus = max(1, math.ceil(connections_per_second / ALB_NEW_CONNECTIONS_PER_LCU_SECOND))
    return LineItem(
        "Internal load balancer",
        round(hourly * HOURS_PER_MONTH, 2),
        round((hourly + lcus * lcu_hourly) * HOURS_PER_MONTH, 2),
        f"${hourly}/h; max adds {lcus} LCU (${lcu_hourly}/h) for {connections_per_second:g} new connections/s",
    )


def _lambda(agent: LambdaAgent, region: str) -> LineItem:
    memory_gb = agent.memory_mb / 1024
    gb_second, per_million = _price(prices.LAMBDA_GB_SECOND, region), _price(prices.LAMBDA_MILLION_REQUESTS, region)
    per_million_requests = memory_gb * ASSUMED_LAMBDA_SECONDS_PER_REQUEST * 1_000_000 * gb_second + per_million
    if agent.reserved_concurrency is None:
        return LineItem(
            "Agent on Lambda",
            0.0,
            None,
            f"idle $0; ${per_million_requests:,.2f} per million requests ({agent.memory_mb} MB); "
            "max not bounded by config: no reserved concurrency, the account's unreserved pool applies",
        )
    # Ceiling: every reserved execution environment busy all month.
    saturated_requests = agent.reserved_concurrency / ASSUMED_LAMBDA_SECONDS_PER_REQUEST * SECONDS_PER_MONTH
    saturated = (
        agent.reserved_concurrency * memory_gb * SECONDS_PER_MONTH * gb_second
        + saturated_requests / 1_000_000 * per_million
    )
    return LineItem(
        "Agent on Lambda",
        0.0,
        round(saturated, 2),
        f"idle $0; ${per_million_requests:,.2f} per million requests ({agent.memory_mb} MB); "
        f"max = {agent.reserved_concurrency} reserved concurrency busy all month",
    )


def _interface_endpoints(config: EnvironmentConfig) -> LineItem:
    from kit_constructs.isolated_network import AwsService  # the endpoints the network construct creates

    services, zones = len(AwsService), len(config.availability_zones)
    hourly = _price(prices.INTERFACE_ENDPOINT_AZ_HOUR, config.region)
    monthly = round(services * zones * hourly * HOURS_PER_MONTH, 2)
    mode = "kit-created VPC" if config.network.mode == "create" else "added to the existing VPC"
    return LineItem(
        "VPC interface endpoints", monthly, monthly, f"{services} endpoints x {zones} AZs x ${hourly}/h ({mode})"
    )


def _kms_keys(region: str) -> LineItem:
    from kit_constructs.encryption_keys import KEY_PURPOSES

    monthly = round(len(KEY_PURPOSES) * _price(prices.KMS_KEY_MONTH, region), 2)
    return LineItem("KMS keys", monthly, monthly, f"{len(KEY_PURPOSES)} keys ({', '.join(KEY_PURPOSES)}) x $1/month")


def _dashboard(region: str) -> LineItem:
    monthly = _price(prices.DASHBOARD_MONTH, region)
    return LineItem("CloudWatch dashboard", monthly, monthly, "1 dashboard (free if among the account's first 3)")


def _price(price: Price, region: str) -> float:
    value = price.in_region(region)
    if value is None:
        raise PriceNotListed(
            f"costing/prices.py lists no {region} price {price.unit} ({price.source}); "
            f"known regions: {', '.join(prices.REGIONS)}"
        )
    return value
