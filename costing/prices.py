"""The unit prices `make cost` multiplies, each with its source, date and how far it was checked.

On-demand list prices for the regions the kit's catalogue covers (us-east-1, us-west-2,
eu-west-1), transcribed from the AWS pricing pages. AWS changes them: before budgeting, check
the pages or the AWS Price List API. SageMaker endpoint instance prices live in
`kit_config/instance_catalogue.py` (they also validate config) and are not repeated here.

`checked` says what backs a figure on this project's machines (no AWS account, no network to
the pricing pages): "corroborated" means a stored copy of a pricing page or of a write-up citing
it agrees; "unverified" means transcribed without such a copy — treat as an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


@dataclass(frozen=True)
class Price:
    usd: dict[str, float]  # region -> price per unit
    unit: str
    source: str
    as_of: str
    checked: Literal["corroborated", "unverified"]

    def in_region(self, region: str) -> float | None:
        return self.usd.get(region)


def _same_everywhere(usd: float) -> dict[str, float]:
    return dict.fromkeys(REGIONS, usd)


def _us_and_ireland(us: float, eu_west_1: float) -> dict[str, float]:
    # us-east-1 and us-west-2 list the same price for every figure below.
    return {"us-east-1": us, "us-west-2": us, "eu-west-1": eu_west_1}


FARGATE_VCPU_HOUR = Price(
    _us_and_ireland(0.04048, 0.04456),
    "per vCPU-hour (Linux/x86, on-demand)",
    "AWS Fargate pricing page",
    "2025-2026",
    "corroborated",
)
FARGATE_GB_HOUR = Price(
    _us_and_ireland(0.004445, 0.004865),
    "per GB-hour of task memory (Linux/x86)",
    "AWS Fargate pricing page",
    "2025-2026",
    "corroborated",
)
LAMBDA_GB_SECOND = Price(
    _same_everywhere(0.0000166667),
    "per GB-second (x86, first pricing tier)",
    "AWS Lambda pricing page",
    "2025",
    "unverified",
)
LAMBDA_MILLION_REQUESTS = Price(
    _same_everywhere(0.20),
    "per million requests",
    "AWS Lambda pricing page",
    "2025",
    "unverified",
)
ALB_HOUR = Price(
    _us_and_ireland(0.0225, 0.0252),
    "per Application Load Balancer-hour",
    "Elastic Load Balancing pricing page",
    "2025",
    "unverified",
)
ALB_LCU_HOUR = Price(
    _same_everywhere(0.008),
    "per load balancer capacity unit (LCU)-hour",
    "Elastic Load Balancing pricing page",
    "2025",
    "unverified",
)
INTERFACE_ENDPOINT_AZ_HOUR = Price(
    _us_and_ireland(0.01, 0.011),
    "per interface VPC endpoint per availability zone-hour (data processed extra)",
    "AWS PrivateLink pricing page",
    "2025",
    "unverified",
)
KMS_KEY_MONTH = Price(
    _same_everywhere(1.00),
    "per customer-managed key-month (requests extra)",
    "AWS KMS pricing page",
    "2025",
    "unverified",
)
HOSTED_ZONE_MONTH = Price(
    _same_everywhere(0.50),
    "per hosted zone-month (the account's first 25 zones; DNS queries extra)",
    "Amazon Route 53 pricing page",
    "2026",
    "unverified",
)
DASHBOARD_MONTH = Price(
    _same_everywhere(3.00),
    "per dashboard-month (the account's first 3 dashboards are free)",
    "Amazon CloudWatch pricing page",
    "2025",
    "unverified",
)
# SageMaker managed MLflow tracking server, billed per hour while it exists (metadata storage extra).
MLFLOW_TRACKING_SERVER_HOUR = {
    size: Price(
        _same_everywhere(usd),
        f"per {size} tracking server-hour",
        "Amazon SageMaker AI pricing page, MLflow",
        "2025",
        "unverified",
    )
    for size, usd in (("Small", 0.60), ("Medium", 1.20), ("Large", 2.40))
}

ALL_PRICES: dict[str, Price] = {
    "Fargate vCPU": FARGATE_VCPU_HOUR,
    "Fargate memory": FARGATE_GB_HOUR,
    "Lambda compute": LAMBDA_GB_SECOND,
    "Lambda requests": LAMBDA_MILLION_REQUESTS,
    "ALB": ALB_HOUR,
    "ALB LCU": ALB_LCU_HOUR,
    "Interface endpoint": INTERFACE_ENDPOINT_AZ_HOUR,
    "KMS key": KMS_KEY_MONTH,
    "Route 53 hosted zone": HOSTED_ZONE_MONTH,
    "Dashboard": DASHBOARD_MONTH,
    **{f"MLflow tracking server {size}": price for size, price in MLFLOW_TRACKING_SERVER_HOUR.items()},
}
