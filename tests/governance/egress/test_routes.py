"""Which hosts a private route serves, and hosts derived from the client libraries, not a list."""

from __future__ import annotations

import pytest

from governance.egress.deployment import InterfaceEndpoint, NetworkRoutes, interface_service_name
from governance.egress.destinations import botocore_host
from governance.egress.routes import INTERFACE_SERVICES, route_for
from kit_config.schema import INTERFACE_ENDPOINT_SERVICES


class _Deployment:
    """Just what route_for reads: region, partition and the network's routes."""

    def __init__(self, region: str, endpoints: list[str], s3_gateway: bool = True, private_dns: bool = True) -> None:
        self.config = type("Config", (), {"region": region})()
        self.partition = ("aws", "amazonaws.com")
        self.network = NetworkRoutes(
            tuple(InterfaceEndpoint(interface_service_name(key, region), private_dns, "template") for key in endpoints),
            s3_gateway,
        )


def test_every_endpoint_the_kit_can_create_has_its_dns_names():
    assert set(INTERFACE_SERVICES) == set(INTERFACE_ENDPOINT_SERVICES)


@pytest.mark.parametrize(
    "host, route",
    [
        ("us-east-1.experiments.sagemaker.aws", "interface endpoint aws.sagemaker.us-east-1.experiments (private DNS)"),
        ("mlflow.sagemaker.us-east-1.app.aws", None),  # an MLflow App: no PrivateLink
        ("sts.us-east-1.amazonaws.com", "interface endpoint com.amazonaws.us-east-1.sts (private DNS)"),
        ("sts.amazonaws.com", None),  # the global STS endpoint is not served by the regional endpoint
        (
            "111122223333.dkr.ecr.us-east-1.amazonaws.com",
            "interface endpoint com.amazonaws.us-east-1.ecr.dkr (private DNS)",
        ),
        ("bucket.s3.amazonaws.com", "S3 gateway endpoint com.amazonaws.us-east-1.s3"),  # legacy global: us-east-1
        ("bucket.s3.us-west-2.amazonaws.com", None),  # another region's S3
        ("169.254.170.2", "link-local (the task's own interface; no VPC route)"),
        ("config.mlflow-telemetry.io", None),
    ],
)
def test_routes_in_us_east_1(host, route):
    assert route_for(host, _Deployment("us-east-1", list(INTERFACE_ENDPOINT_SERVICES))) == route


def test_the_global_s3_host_is_no_route_outside_us_east_1():
    deployment = _Deployment("us-west-2", [])
    assert route_for("bucket.s3.amazonaws.com", deployment) is None
    assert (
        route_for("bucket.s3.us-west-2.amazonaws.com", deployment) == "S3 gateway endpoint com.amazonaws.us-west-2.s3"
    )
    assert route_for("bucket.s3.us-west-2.amazonaws.com", _Deployment("us-west-2", [], s3_gateway=False)) is None


def test_an_endpoint_without_private_dns_serves_no_name():
    assert route_for("kms.us-east-1.amazonaws.com", _Deployment("us-east-1", ["kms"], private_dns=False)) is None


def test_hosts_are_botocores_own_resolution():
    # The same call, another region or partition: the host follows botocore's endpoint rules.
    assert botocore_host(
        "kms", "eu-west-1", "GenerateMac", {"KeyId": "k", "MacAlgorithm": "HMAC_SHA_256", "Message": b"x"}
    ) == ("kms.eu-west-1.amazonaws.com")
    assert botocore_host("sagemaker-runtime", "cn-north-1", "InvokeEndpoint", {"EndpointName": "e", "Body": b"{}"}) == (
        "runtime.sagemaker.cn-north-1.amazonaws.com.cn"
    )
    # S3: virtual-hosted; us-east-1 takes the legacy global endpoint by default, other regions their own.
    assert (
        botocore_host("s3", "us-east-1", "HeadObject", {"Bucket": "my-bucket", "Key": "k"})
        == "my-bucket.s3.amazonaws.com"
    )
    assert botocore_host("s3", "eu-west-1", "HeadObject", {"Bucket": "my-bucket", "Key": "k"}) == (
        "my-bucket.s3.eu-west-1.amazonaws.com"
    )
