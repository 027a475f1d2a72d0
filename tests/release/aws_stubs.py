"""AWS answers for release/ tests: real boto3 clients with botocore Stubbers, and the dev account."""

from __future__ import annotations

import json

import boto3
import botocore.loaders
from botocore.stub import Stubber

from tests.release.assembly_fixture import models_on_variants, snapshot

PARAMETER = "/cdk-bootstrap/hnb659fds/version"
DEV_STACKS = ["dev-Foundation", "dev-Network", "dev-Mlflow", "dev-Inference", "dev-Agent", "dev-Observability"]
LIST = {"Bucket": "governed-agents-dev-models", "Prefix": "qwen2.5-7b-instruct/", "MaxKeys": 1}
HEAD = {"Bucket": "governed-agents-dev-models", "Key": "qwen2.5-7b-instruct/config.json"}
SAGEMAKER_SLR = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"


def interface_services(region: str) -> list[str]:
    """The interface endpoint services the kit's Network stack creates, as the snapshots name them."""
    return sorted(
        [
            f"com.amazonaws.{region}.{name}"
            for name in ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "monitoring", "ecr.api", "ecr.dkr", "kms")
        ]
        + [f"aws.sagemaker.{region}.experiments"]
    )


def zone_ids(zones: list[str]) -> dict:
    return {
        "AvailabilityZones": [
            {"ZoneName": zone, "ZoneId": f"use1-az{i + 4}", "RegionName": zone[:-1], "State": "available"}
            for i, zone in enumerate(zones)
        ]
    }


def endpoint_services(services: list[str], zones: list[str], *, except_zone: dict[str, str] | None = None) -> dict:
    """DescribeVpcEndpointServices' answer: each service in `zones`, minus `except_zone[service]`."""
    except_zone = except_zone or {}
    return {
        "ServiceNames": services,
        "ServiceDetails": [
            {
                "ServiceName": service,
                "ServiceType": [{"ServiceType": "Interface"}],
                "Owner": "amazon",
                "AvailabilityZones": [zone for zone in zones if zone != except_zone.get(service)],
            }
            for service in services
        ],
    }


def role(name: str) -> dict:
    return {
        "Role": {
            "Path": "/aws-service-role/",
            "RoleName": name,
            "RoleId": "AROAEXAMPLEEXAMPLE01",
            "Arn": f"arn:aws:iam::111111111111:role/aws-service-role/x/{name}",
            "CreateDate": "2026-01-01T00:00:00Z",
        }
    }


_MODELS = botocore.loaders.create_loader()


class StubbedAccount:
    """Stands in for a boto3 Session: real clients, each with an active Stubber."""

    def __init__(self, region: str = "us-east-1"):
        self._session = boto3.Session(
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret", region_name=region
        )
        # One loader for every account: each new session would parse the service models again
        # (≈ 1 s over test_preflight.py). The loader only reads botocore's data files.
        self._session._session.register_component("data_loader", _MODELS)
        self._region = region
        self._stubs: dict[tuple[str, str], tuple[object, Stubber]] = {}

    def client(self, name: str, region_name: str | None = None):
        return self._get(name, region_name)[0]

    def stub(self, name: str, region_name: str | None = None) -> Stubber:
        return self._get(name, region_name)[1]

    def _get(self, name, region_name):
        key = (name, region_name or self._region)
        if key not in self._stubs:
            client = self._session.client(name, region_name=key[1])
            stubber = Stubber(client)
            stubber.activate()
            self._stubs[key] = (client, stubber)
        return self._stubs[key]

    def assert_all_answered(self):
        for _, stubber in self._stubs.values():
            stubber.assert_no_pending_responses()


def not_found(stub: Stubber, operation: str, code: str, status: int = 400, message: str = "", params=None):
    stub.add_client_error(
        operation,
        service_error_code=code,
        service_message=message or code,
        http_status_code=status,
        expected_params=params,
    )


def quota(name: str, value: float, code: str = "L-EXAMPLE1") -> dict:
    return {"ServiceCode": "sagemaker", "QuotaName": name, "QuotaCode": code, "Value": value}


def answer(account: StubbedAccount, *, broken: bool) -> None:
    """The dev account's answers to every preflight call, in order: all good, or every check broken."""
    account.stub("sts").add_response(
        "get_caller_identity", {"Account": "111111111111", "Arn": "arn:aws:iam::111111111111:user/x", "UserId": "x"}, {}
    )
    ecr = account.stub("ecr")
    if broken:
        not_found(ecr, "describe_images", "ImageNotFoundException")
    else:
        ecr.add_response("describe_images", {"imageDetails": [{"imageTags": ["0.38.0-lmi29.0.0-cu130"]}]})
    s3 = account.stub("s3")
    s3.add_response("list_objects_v2", {"KeyCount": 0 if broken else 2}, LIST)
    if not broken:
        s3.add_response("head_object", {"ContentLength": 663}, HEAD)
    account.stub("service-quotas").add_response(
        "list_service_quotas",
        {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 2.0 if broken else 4.0)]},
        {"ServiceCode": "sagemaker"},
    )
    cloudformation = account.stub("cloudformation")
    for name in DEV_STACKS:
        params = {"StackName": name, "TemplateStage": "Original"}
        if name == "dev-Inference" and broken:  # deployed with its model on the variant, before components
            cloudformation.add_response(
                "get_template",
                {"TemplateBody": json.dumps(models_on_variants(snapshot("dev", "Inference")))},
                params,
            )
        else:
            not_found(
                cloudformation,
                "get_template",
                "ValidationError",
                message=f"Stack with id {name} does not exist",
                params=params,
            )
    account.stub("lambda").add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": 10 if broken else 1000,
                "UnreservedConcurrentExecutions": 10 if broken else 1000,
            }
        },
        {},
    )
    if broken:
        not_found(account.stub("ssm"), "get_parameter", "ParameterNotFound")
    else:
        account.stub("ssm").add_response(
            "get_parameter", {"Parameter": {"Name": PARAMETER, "Value": "21", "Type": "String"}}, {"Name": PARAMETER}
        )
    # dev creates its VPC: no endpoint collision check, but its endpoint services must exist in its AZs.
    zones, services = ["us-east-1a", "us-east-1b"], interface_services("us-east-1")
    ec2 = account.stub("ec2")
    ec2.add_response("describe_availability_zones", zone_ids(zones), {"ZoneNames": zones})
    ec2.add_response(
        "describe_vpc_endpoint_services",
        endpoint_services(
            services, zones, except_zone={"aws.sagemaker.us-east-1.experiments": "us-east-1b"} if broken else None
        ),
        {"ServiceNames": services},
    )
    account.stub("ce", "us-east-1").add_response(
        "list_cost_allocation_tags",
        {
            "CostAllocationTags": [
                {"TagKey": key, "Type": "UserDefined", "Status": "Inactive" if broken else "Active"}
                for key in ("Project", "Environment")
            ]
        },
        {"TagKeys": ["Project", "Environment"], "Type": "UserDefined"},
    )
    if broken:
        not_found(account.stub("iam"), "get_role", "NoSuchEntity", 404, params={"RoleName": SAGEMAKER_SLR})
    else:
        account.stub("iam").add_response("get_role", role(SAGEMAKER_SLR), {"RoleName": SAGEMAKER_SLR})
