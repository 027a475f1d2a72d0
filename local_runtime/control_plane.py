"""The SageMaker control-plane calls the kit's tools use, answered from the env config (awsJson1.1).

ListEndpoints, DescribeEndpoint and DescribeEndpointConfig: local endpoints are discovered
exactly like real ones (`boto3.client("sagemaker")` with AWS_ENDPOINT_URL_SAGEMAKER set).
Every local endpoint is InService; instance types and counts come from the config. For inference
components: ListInferenceComponents, DescribeInferenceComponent and UpdateInferenceComponentRuntimeConfig,
which sets a component's copies (0: scaled to zero) as Application Auto Scaling or an operator does.
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


def _instance_counts(emulator, endpoint: LocalEndpoint, variant) -> tuple[int, int]:
    """(current, desired) instances: the config's count, or for a variant under managed instance scaling
    what its components' copies need."""
    if variant.managed_instance_scaling is None:
        return variant.instance_count, variant.instance_count
    states = [emulator.components.get(c.name) for c in endpoint.components if c.variant == variant.name]
    return sum(s.instances(s.current) for s in states), sum(s.instances(s.desired) for s in states)


def describe_endpoint(emulator, request: dict) -> dict:
    endpoint = _find(emulator, request.get("EndpointName", ""))
    if endpoint is None:
        arn = f"arn:aws:sagemaker:{emulator.region}:{emulator.account}:endpoint/{str(request.get('EndpointName', '')).lower()}"
        raise _not_found("endpoint", arn)
    total = sum(variant.weight for variant in endpoint.variants)
    variants = []
    for variant in endpoint.variants:
        current, desired = _instance_counts(emulator, endpoint, variant)
        variants.append(_variant_summary(endpoint, variant, total, current, desired))
    return {**_summary(endpoint), "EndpointConfigName": endpoint.config_name, "ProductionVariants": variants}


def _variant_summary(endpoint: LocalEndpoint, variant, total: float, current: int, desired: int) -> dict:
    summary = {
        "VariantName": variant.name,
        "CurrentWeight": variant.weight,
        "DesiredWeight": variant.weight,
        "CurrentInstanceCount": current,
        "DesiredInstanceCount": desired,
        "InstancePools": [{"InstanceType": variant.instance_type, "CurrentInstanceCount": current}],
        "VariantStatus": [
            {
                "Status": "InService",
                "StatusMessage": f"local model server {variant.upstream}, {variant.weight / total:.0%} of traffic",
                "StartTime": endpoint.created,
            }
        ],
    }
    if variant.managed_instance_scaling is not None:
        # The models are the components' (DescribeInferenceComponent), not the variant's.
        summary["ManagedInstanceScaling"] = variant.managed_instance_scaling
    else:
        summary["DeployedImages"] = [
            {
                "SpecifiedImage": f"local/{variant.model_name}",
                "ResolvedImage": variant.upstream,
                "ResolutionTime": endpoint.created,
            }
        ]
    return summary


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
        "ProductionVariants": [_config_variant(variant) for variant in endpoint.variants],
    }


def _config_variant(variant) -> dict:
    config = {
        "VariantName": variant.name,
        "ModelName": variant.model_name,
        "InitialInstanceCount": variant.instance_count,
        "InstanceType": variant.instance_type,
        "InitialVariantWeight": variant.weight,
    }
    if variant.managed_instance_scaling is not None:
        # A variant for inference components names no model: the components do.
        del config["ModelName"]
        config["ManagedInstanceScaling"] = variant.managed_instance_scaling
    return config


# -- inference components -------------------------------------------------------------------------


def _component(emulator, request: dict):
    name = str(request.get("InferenceComponentName", ""))
    state = emulator.components.get(name)
    if state is None:
        # The text SageMaker answers an unknown component with on the control plane ("Could not find
        # inference component", matched by the sagemaker-python-sdk's ModelBuilder and the Terraform
        # provider), in the form of its other not-found messages.
        raise _not_found(
            "inference component",
            f"arn:aws:sagemaker:{emulator.region}:{emulator.account}:inference-component/{name.lower()}",
        )
    return state


def _component_summary(state) -> dict:
    component, endpoint = state.component, state.endpoint
    return {
        "InferenceComponentName": component.name,
        "InferenceComponentArn": endpoint.component_arn(component.name),
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "VariantName": component.variant,
        "InferenceComponentStatus": state.status,
        "CreationTime": state.created,
        "LastModifiedTime": state.modified,
    }


def describe_inference_component(emulator, request: dict) -> dict:
    state = _component(emulator, request)
    component = state.component
    variant = state.endpoint.variant(component.variant)
    return {
        **_component_summary(state),
        "Specification": {
            "ModelName": component.model_name,
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": float(component.accelerators),
                "MinMemoryRequiredInMb": component.memory_mib,
            },
            "InstanceType": variant.instance_type,
        },
        "RuntimeConfig": {"DesiredCopyCount": state.desired, "CurrentCopyCount": state.current},
    }


def list_inference_components(emulator, request: dict) -> dict:
    states = emulator.components.all()
    if request.get("EndpointNameEquals"):
        states = [s for s in states if s.endpoint.name.lower() == str(request["EndpointNameEquals"]).lower()]
    if request.get("VariantNameEquals"):
        states = [s for s in states if s.component.variant == request["VariantNameEquals"]]
    if request.get("NameContains"):
        states = [s for s in states if request["NameContains"] in s.component.name]
    if request.get("StatusEquals"):
        states = [s for s in states if s.status == request["StatusEquals"]]
    key = {"Name": lambda s: s.component.name, "Status": lambda s: s.status}.get(
        request.get("SortBy"), lambda s: s.created
    )
    states.sort(key=key, reverse=request.get("SortOrder", "Descending") == "Descending")
    start = int(request.get("NextToken") or 0)
    size = int(request.get("MaxResults") or 10)
    result = {"InferenceComponents": [_component_summary(s) for s in states[start : start + size]]}
    if start + size < len(states):
        result["NextToken"] = str(start + size)
    return result


def update_inference_component_runtime_config(emulator, request: dict) -> dict:
    state = _component(emulator, request)
    copies = (request.get("DesiredRuntimeConfig") or {}).get("CopyCount")
    if not isinstance(copies, int) or copies < 0:
        raise AwsError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{copies}' at 'desiredRuntimeConfig.copyCount' failed to satisfy "
            "constraint: Member must have value greater than or equal to 0",
        )
    emulator.components.set_copies(state.component.name, copies)
    return {"InferenceComponentArn": state.endpoint.component_arn(state.component.name)}


_OPERATIONS = {
    "ListEndpoints": list_endpoints,
    "DescribeEndpoint": describe_endpoint,
    "DescribeEndpointConfig": describe_endpoint_config,
    "ListInferenceComponents": list_inference_components,
    "DescribeInferenceComponent": describe_inference_component,
    "UpdateInferenceComponentRuntimeConfig": update_inference_component_runtime_config,
}
