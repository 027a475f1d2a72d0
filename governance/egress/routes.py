"""Which hosts a private route serves: each interface endpoint service (by its config key) and the
S3 gateway, with the AWS page that documents the DNS names.

An interface endpoint with private DNS makes the service's default regional names resolve to the
endpoint's addresses inside the VPC ("DNS hostnames": https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html#interface-endpoint-private-dns);
only those names: a client that calls another name of the same service (a global endpoint, an
MLflow App's host) leaves the VPC, and in an isolated VPC it fails. A gateway endpoint routes the
region's S3 addresses (the prefix list), whatever name resolved to them.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass

from governance.egress.deployment import AgentDeployment, interface_service_name


@dataclass(frozen=True)
class InterfaceService:
    key: str  # kit_config.schema.INTERFACE_ENDPOINT_SERVICES
    dns_names: tuple[str, ...]  # patterns: {region}, {suffix} (the partition's DNS suffix); * = any labels
    source: str

    def names(self, region: str, suffix: str) -> tuple[str, ...]:
        return tuple(name.format(region=region, suffix=suffix) for name in self.dns_names)


_SAGEMAKER_VPC = "https://docs.aws.amazon.com/sagemaker/latest/dg/interface-vpc-endpoint.html"
INTERFACE_SERVICES = {
    service.key: service
    for service in (
        InterfaceService("sagemaker.api", ("api.sagemaker.{region}.{suffix}",), _SAGEMAKER_VPC),
        InterfaceService("sagemaker.runtime", ("runtime.sagemaker.{region}.{suffix}",), _SAGEMAKER_VPC),
        # MLflow tracking servers only ("Connecting to an MLflow tracking server through an Interface
        # VPC Endpoint"); the name is sagemaker-mlflow's tracking-server host (suffix "aws" in the aws
        # and aws-us-gov partitions). No AWS page offers PrivateLink for an MLflow App's host
        # (mlflow.sagemaker.<region>.app.aws).
        InterfaceService(
            "experiments",
            ("{region}.experiments.sagemaker.aws",),
            "https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-interface-endpoint.html",
        ),
        # Regional STS only: the global sts.amazonaws.com is not served by the endpoint.
        InterfaceService(
            "sts",
            ("sts.{region}.{suffix}",),
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_sts_vpce.html",
        ),
        InterfaceService(
            "logs",
            ("logs.{region}.{suffix}",),
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch-logs-and-interface-VPC.html",
        ),
        InterfaceService(
            "monitoring",
            ("monitoring.{region}.{suffix}",),
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-interface-VPC.html",
        ),
        InterfaceService(
            "ecr.api",
            ("api.ecr.{region}.{suffix}",),
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
        ),
        InterfaceService(
            "ecr.dkr",
            ("*.dkr.ecr.{region}.{suffix}",),
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
        ),
        InterfaceService(
            "kms",
            ("kms.{region}.{suffix}",),
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-vpc-endpoint.html",
        ),
    )
}

# The region's S3 names; in us-east-1 also the legacy global endpoint, which botocore uses there by
# default (s3_us_east_1_regional_endpoint = legacy) and which serves us-east-1's buckets
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html#deprecated-global-endpoint).
# Gateway endpoints serve S3 in the VPC's own region only
# (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html).
S3_GATEWAY_SOURCE = "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"
_S3_REGIONAL = ("s3.{region}.{suffix}", "*.s3.{region}.{suffix}")
_S3_GLOBAL_IN_US_EAST_1 = ("s3.{suffix}", "*.s3.{suffix}")

# Link-local addresses are answered on the task's own network interface, not routed through the VPC:
# Fargate's task-role credentials at 169.254.170.2
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")


def _matches(host: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns)


def s3_gateway_names(region: str, suffix: str) -> tuple[str, ...]:
    patterns = _S3_REGIONAL + (_S3_GLOBAL_IN_US_EAST_1 if region == "us-east-1" else ())
    return tuple(pattern.format(region=region, suffix=suffix) for pattern in patterns)


def route_for(host: str, deployment: AgentDeployment) -> str | None:
    """The private route that serves `host` in this deployment's network, described; None: no route."""
    region, suffix = deployment.config.region, deployment.partition[1]
    try:
        if ipaddress.ip_address(host) in LINK_LOCAL:
            return "link-local (the task's own interface; no VPC route)"
    except ValueError:
        pass
    network = deployment.network
    for endpoint in network.interface_endpoints:
        if not endpoint.private_dns:
            continue
        for service in INTERFACE_SERVICES.values():
            if interface_service_name(service.key, region) == endpoint.service_name and _matches(
                host, service.names(region, suffix)
            ):
                origin = "" if endpoint.origin == "template" else f", {endpoint.origin}"
                return f"interface endpoint {endpoint.service_name} (private DNS{origin})"
    if network.s3_gateway and _matches(host, s3_gateway_names(region, suffix)):
        return f"S3 gateway endpoint com.amazonaws.{region}.s3"
    return None
