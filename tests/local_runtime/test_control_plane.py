"""ListEndpoints / DescribeEndpoint / DescribeEndpointConfig through boto3's `sagemaker` client,
found only via AWS_ENDPOINT_URL_SAGEMAKER: local endpoints are discovered like real ones."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kit_config.loader import load_environment


def test_list_endpoints_names_every_local_endpoint_in_service(control_plane):
    endpoints = control_plane.list_endpoints()["Endpoints"]
    assert {e["EndpointName"] for e in endpoints} == {
        "governed-agents-dev-llm",
        "ab-test",
        "throttled",
        "capture",
        "recorded",
        "no-model",
        "components",
    }
    assert {e["EndpointStatus"] for e in endpoints} == {"InService"}
    dev = next(e for e in endpoints if e["EndpointName"] == "governed-agents-dev-llm")
    assert dev["EndpointArn"] == "arn:aws:sagemaker:us-east-1:111111111111:endpoint/governed-agents-dev-llm"


def test_list_endpoints_filters_sorts_and_pages(control_plane):
    assert [e["EndpointName"] for e in control_plane.list_endpoints(NameContains="dev")["Endpoints"]] == [
        "governed-agents-dev-llm"
    ]
    assert control_plane.list_endpoints(StatusEquals="Creating")["Endpoints"] == []
    names = [e["EndpointName"] for e in control_plane.list_endpoints(SortBy="Name", SortOrder="Ascending")["Endpoints"]]
    assert names == sorted(names)
    paged = [
        e["EndpointName"]
        for page in control_plane.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 1})
        for e in page["Endpoints"]
    ]
    assert sorted(paged) == sorted(names)


def test_describe_endpoint_reports_variants_and_instance_types_from_config(control_plane):
    config = load_environment("dev").inference
    described = control_plane.describe_endpoint(EndpointName=config.endpoint_name)
    assert described["EndpointStatus"] == "InService"
    [variant] = described["ProductionVariants"]
    assert variant["VariantName"] == config.variants[0].name
    assert variant["InstancePools"] == [{"InstanceType": config.variants[0].instance_type, "CurrentInstanceCount": 1}]
    assert variant["CurrentInstanceCount"] == config.variants[0].initial_instance_count
    assert variant["CurrentWeight"] == config.variants[0].initial_weight
    endpoint_config = control_plane.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    [configured] = endpoint_config["ProductionVariants"]
    # Dev hosts its model as an inference component: the variant is capacity and names no model
    # (test_inference_components.py describes the component).
    assert configured["InstanceType"] == "ml.g6.xlarge" and "ModelName" not in configured


def test_describe_endpoint_lists_both_ab_variants(control_plane):
    variants = control_plane.describe_endpoint(EndpointName="ab-test")["ProductionVariants"]
    assert [v["VariantName"] for v in variants] == ["primary", "canary"]


def test_describe_unknown_endpoint_is_a_validation_exception(control_plane):
    with pytest.raises(ClientError) as caught:
        control_plane.describe_endpoint(EndpointName="missing")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert (
        caught.value.response["Error"]["Message"]
        == 'Could not find endpoint "arn:aws:sagemaker:us-east-1:111111111111:endpoint/missing".'
    )
    with pytest.raises(ClientError) as caught:
        control_plane.describe_endpoint_config(EndpointConfigName="missing")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_waiter_sees_the_endpoint_in_service(control_plane):
    control_plane.get_waiter("endpoint_in_service").wait(
        EndpointName="governed-agents-dev-llm", WaiterConfig={"Delay": 1, "MaxAttempts": 2}
    )
