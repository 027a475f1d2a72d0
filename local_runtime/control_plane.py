"""The SageMaker control-plane calls the kit's tools use, answered from the env config (awsJson1.1).

ListEndpoints, DescribeEndpoint and DescribeEndpointConfig: local endpoints are discovered
exactly like real ones (`boto3.client("sagemaker")` with AWS_ENDPOINT_URL_SAGEMAKER set).
Every local endpoint is InService; instance types and counts come from the config.
"""

from __future__ import annotations

import json

from local_runtime.aws_errors import AwsError
from local_runtime.endpoints import LocalEndpoint

_CONTENT_TYPE = "application/x-amz-json-1.1"


def handle(handler, emulator, operation: str) -> None:
    try:
        request = json.loads(handler.read_body() or b"{}")
        action = _OPERATIONS.get(operation)
        if action is None:
            raise AwsError(
                400, "UnknownOperationException", f"The local emulator does not implement SageMaker.{operation}"
            )
        status, body = 200, action(emulator, request)
    except AwsError as error:
        status, body = error.aws_json()
    except json.JSONDecodeError:
        status, body = 400, {"__type": "SerializationException", "message": "Request body is not valid JSON"}
    handler.send_json(status, body, {"x-amzn-RequestId": handler.request_id}, content_type=_CONTENT_TYPE)


def _not_found(what: str, arn: str) -> AwsError:
    return AwsError(400, "ValidationException", f'Could not find {what} "{arn}".')


def _find(emulator, name: str) -> LocalEndpoint | None:
    return emulator.endpoints.get(str(name).lower())


def _summary(endpoint: LocalEndpoint) -> dict:
    return {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "CreationTime": endpoint.created,
        "LastModifiedTime": endpoint.created,
        "EndpointStatus": "InService",
    }


def list_endpoints(emulator, request: dict) -> dict:
    endpoints = list(emulator.endpoints.values())
    if request.get("NameContains"):
        endpoints = [e for e in endpoints if request["NameContains"] in e.name]
    if request.get("StatusEquals") and request["StatusEquals"] != "InService":
        endpoints = []
    key = {"Name": lambda e: e.name, "Status": lambda e: "InService"}.get(request.get("SortBy"), lambda e: e.created)
    endpoints.sort(key=key, reverse=request.get("SortOrder", "Descending") == "Descending")
    start = int(request.get("NextToken") or 0)
    size = int(request.get("MaxResults") or 100)
    page = endpoints[start : start + size]
    result = {"Endpoints": [_summary(endpoint) for endpoint in page]}
    if start + size < len(endpoints):
        result["NextToken"] = str(start + size)
    return result


def describe_endpoint(emulator, request: dict) -> dict:
    endpoint = _find(emulator, request.get("EndpointName", ""))
    if endpoint is None:
        arn = f"arn:aws:sagemaker:{emulator.region}:{emulator.account}:endpoint/{str(request.get('EndpointName', '')).lower()}"
        raise _not_found("endpoint", arn)
    total = sum(variant.weight for variant in endpoint.variants)
    variants = [
        {
            "VariantName": variant.name,
            "CurrentWeight": variant.weight,
            "DesiredWeight": variant.weight,
            "CurrentInstanceCount": variant.instance_count,
            "DesiredInstanceCount": variant.instance_count,
            "InstancePools": [{"InstanceType": variant.instance_type, "CurrentInstanceCount": variant.instance_count}],
            "VariantStatus": [
                {
                    "Status": "InService",
                    "StatusMessage": f"local model server {variant.upstream}, {variant.weight / total:.0%} of traffic",
                    "StartTime": endpoint.created,
                }
            ],
            "DeployedImages": [
                {
                    "SpecifiedImage": f"local/{variant.model_name}",
                    "ResolvedImage": variant.upstream,
                    "ResolutionTime": endpoint.created,
                }
            ],
        }
        for variant in endpoint.variants
    ]
    return {**_summary(endpoint), "EndpointConfigName": endpoint.config_name, "ProductionVariants": variants}


def describe_endpoint_config(emulator, request: dict) -> dict:
    name = request.get("EndpointConfigName", "")
    endpoint = next((e for e in emulator.endpoints.values() if e.config_name.lower() == str(name).lower()), None)
    if endpoint is None:
        raise _not_found(
            "endpoint configuration",
            f"arn:aws:sagemaker:{emulator.region}:{emulator.account}:endpoint-config/{str(name).lower()}",
        )
    return {
        "EndpointConfigName": endpoint.config_name,
        "EndpointConfigArn": f"arn:aws:sagemaker:{endpoint.region}:{endpoint.account}:endpoint-config/{endpoint.config_name.lower()}",
        "CreationTime": endpoint.created,
        "ProductionVariants": [
            {
                "VariantName": variant.name,
                "ModelName": variant.model_name,
                "InitialInstanceCount": variant.instance_count,
                "InstanceType": variant.instance_type,
                "InitialVariantWeight": variant.weight,
            }
            for variant in endpoint.variants
        ],
    }


_OPERATIONS = {
    "ListEndpoints": list_endpoints,
    "DescribeEndpoint": describe_endpoint,
    "DescribeEndpointConfig": describe_endpoint_config,
}
