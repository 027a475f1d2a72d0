"""Inference components through unmodified boto3 clients over loopback: a request names its component
and reaches the model server of the component's variant; what SageMaker refuses is refused with its
status, code and message (local_runtime.aws_errors, sources there); a component at 0 copies answers as
SageMaker's does and counts NoCapacityInvocationFailures; the control plane reads and sets the copies
(tests/local_runtime/conftest.py: `components_endpoint`, `scaling_emulators`)."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from kit_config.loader import load_environment
from local_runtime import aws_errors
from tests.local_runtime.support import DUMMY_AWS, NO_RETRIES, chat, stream_chunks

STREAMING = [False, True]


def _invoke(client, streaming: bool, **kwargs) -> tuple[str, dict]:
    """One call, streamed or not: the model's text and the response's metadata."""
    if streaming:
        response = client.invoke_endpoint_with_response_stream(Body=chat("hi there", stream=True), **kwargs)
        chunks = stream_chunks(b"".join(event["PayloadPart"]["Bytes"] for event in response["Body"]))
        return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]), response
    response = client.invoke_endpoint(Body=chat("hi there"), **kwargs)
    return json.loads(response["Body"].read())["choices"][0]["message"]["content"], response


def _refusal(client, streaming: bool, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as raised:
        _invoke(client, streaming, **kwargs)
    return raised.value


def _assert_refused(error: ClientError, message: str) -> None:
    """What botocore parsed: the modelled ValidationError, HTTP 400, the message word for word."""
    assert error.response["Error"] == {"Code": "ValidationError", "Message": message}
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.operation_name in {"InvokeEndpoint", "InvokeEndpointWithResponseStream"}


def _counts(url: str, name: str) -> dict:
    with urllib.request.urlopen(f"{url}/_local/components", timeout=5) as response:
        return next(
            c for c in json.loads(response.read())["InferenceComponents"] if c["InferenceComponentName"] == name
        )


def _clients(url: str, monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    return (
        boto3.client("sagemaker-runtime", endpoint_url=url, config=NO_RETRIES),
        boto3.client("sagemaker", endpoint_url=url, config=NO_RETRIES),
    )


@pytest.mark.parametrize("streaming", STREAMING)
def test_a_component_is_served_by_its_variants_model(runtime, streaming):
    text, response = _invoke(runtime, streaming, EndpointName="components", InferenceComponentName="echo-ic")
    assert (text, response["InvokedProductionVariant"]) == ("You said: hi there", "AllTraffic")
    text, response = _invoke(runtime, streaming, EndpointName="components", InferenceComponentName="canary-ic")
    assert (text, response["InvokedProductionVariant"]) == ("Turn 1: hi there", "canary")  # the canary's scenario


@pytest.mark.parametrize("streaming", STREAMING)
def test_the_dev_endpoint_serves_its_component_and_refuses_requests_without_it(runtime, streaming):
    dev = load_environment("dev").inference
    component = dev.variants[0].component_name(dev.endpoint_name)
    text, _ = _invoke(runtime, streaming, EndpointName=dev.endpoint_name, InferenceComponentName=component)
    assert text == "You said: hi there"
    _assert_refused(_refusal(runtime, streaming, EndpointName=dev.endpoint_name), aws_errors.COMPONENT_REQUIRED)


@pytest.mark.parametrize("streaming", STREAMING)
def test_what_sagemaker_refuses_about_the_component_header(runtime, streaming):
    refused = [
        # An endpoint of components, called without one.
        ({"EndpointName": "components"}, aws_errors.COMPONENT_REQUIRED),
        # A component the endpoint does not host.
        (
            {"EndpointName": "components", "InferenceComponentName": "nope-ic"},
            "Inference Component nope-ic of account 111111111111 not found.",
        ),
        # A component on an endpoint whose variants serve their own models.
        ({"EndpointName": "ab-test", "InferenceComponentName": "echo-ic"}, aws_errors.COMPONENT_NOT_ALLOWED),
        # Outside the header's constraints (botocore's model: at most 63 characters, the pattern).
        (
            {"EndpointName": "components", "InferenceComponentName": "bad_name"},
            "1 validation error detected: Value 'bad_name' at 'inferenceComponentName' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {aws_errors.COMPONENT_NAME_PATTERN}",
        ),
        (
            {"EndpointName": "components", "InferenceComponentName": "a" * 64},
            f"1 validation error detected: Value '{'a' * 64}' at 'inferenceComponentName' failed to satisfy "
            "constraint: Member must have length less than or equal to 63",
        ),
    ]
    for kwargs, message in refused:
        _assert_refused(_refusal(runtime, streaming, **kwargs), message)


def test_a_component_at_zero_copies_refuses_until_its_copies_are_back(runtime, control_plane, emulator):
    """Without the scale-out step policy (this emulator plays none), nothing brings a copy back but
    UpdateInferenceComponentRuntimeConfig: every request is refused and counted until then."""
    target = {"EndpointName": "components", "InferenceComponentName": "idle-ic"}
    before = _counts(emulator.url, "idle-ic")
    control_plane.update_inference_component_runtime_config(
        InferenceComponentName="idle-ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    try:
        for streaming in STREAMING:
            _assert_refused(_refusal(runtime, streaming, **target), aws_errors.NO_CAPACITY)
        described = control_plane.describe_inference_component(InferenceComponentName="idle-ic")
        assert described["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
        assert described["InferenceComponentStatus"] == "InService"
        # The other component on the same variant keeps its copy and answers.
        assert _invoke(runtime, False, EndpointName="components", InferenceComponentName="echo-ic")[0]
    finally:
        control_plane.update_inference_component_runtime_config(
            InferenceComponentName="idle-ic", DesiredRuntimeConfig={"CopyCount": 1}
        )
    for streaming in STREAMING:
        assert _invoke(runtime, streaming, **target)[0] == "You said: hi there"
    after = _counts(emulator.url, "idle-ic")
    assert after["NoCapacityInvocationFailures"] - before["NoCapacityInvocationFailures"] == 2
    assert after["Invocations"] - before["Invocations"] == 2


@pytest.mark.parametrize("streaming", STREAMING)
def test_the_first_request_at_zero_is_refused_and_brings_a_copy(scaling_emulators, monkeypatch, streaming):
    """With the step policy on the NoCapacityInvocationFailures alarm, the refused request starts the
    scale-out; on AWS it takes minutes, here none: the next request is served."""
    url = scaling_emulators[0].url
    runtime, control_plane = _clients(url, monkeypatch)
    control_plane.update_inference_component_runtime_config(
        InferenceComponentName="idle-ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    before = _counts(url, "idle-ic")["NoCapacityInvocationFailures"]
    target = {"EndpointName": "components", "InferenceComponentName": "idle-ic"}
    _assert_refused(_refusal(runtime, streaming, **target), aws_errors.NO_CAPACITY)
    assert _invoke(runtime, streaming, **target)[0] == "You said: hi there"
    assert _counts(url, "idle-ic")["NoCapacityInvocationFailures"] == before + 1
    described = control_plane.describe_inference_component(InferenceComponentName="idle-ic")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}


def test_a_scale_out_from_zero_under_way_refuses_and_shows_as_updating(scaling_emulators, monkeypatch):
    url = scaling_emulators[3600].url
    runtime, control_plane = _clients(url, monkeypatch)
    target = {"EndpointName": "components", "InferenceComponentName": "idle-ic"}
    # Started idle: the component that scales to zero has no copy, the one that does not keeps its own.
    assert _invoke(runtime, False, EndpointName="components", InferenceComponentName="echo-ic")[0]
    for streaming in STREAMING:  # the first starts the scale-out, the second finds it under way
        _assert_refused(_refusal(runtime, streaming, **target), aws_errors.NO_CAPACITY)
    described = control_plane.describe_inference_component(InferenceComponentName="idle-ic")
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 0}
    assert described["InferenceComponentStatus"] == "Updating"
    assert _counts(url, "idle-ic")["NoCapacityInvocationFailures"] == 2
    [variant, _] = control_plane.describe_endpoint(EndpointName="components")["ProductionVariants"]
    # AllTraffic: echo-ic's instance now, one more for idle-ic's copy on its way.
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (1, 2)


def test_the_control_plane_describes_and_lists_components(control_plane):
    dev = load_environment("dev").inference
    variant = dev.variants[0]
    name = variant.component_name(dev.endpoint_name)
    described = control_plane.describe_inference_component(InferenceComponentName=name)
    assert described["InferenceComponentArn"] == f"arn:aws:sagemaker:us-east-1:111111111111:inference-component/{name}"
    assert (described["EndpointName"], described["VariantName"]) == (dev.endpoint_name, variant.name)
    assert described["Specification"]["ModelName"] == variant.model.name
    assert described["Specification"]["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": variant.inference_component.accelerators,
        "MinMemoryRequiredInMb": variant.inference_component.memory_mib,
    }
    assert described["RuntimeConfig"] == {
        "DesiredCopyCount": variant.inference_component.initial_copies,
        "CurrentCopyCount": variant.inference_component.initial_copies,
    }
    listed = control_plane.list_inference_components(
        EndpointNameEquals="components", SortBy="Name", SortOrder="Ascending"
    )
    assert [c["InferenceComponentName"] for c in listed["InferenceComponents"]] == ["canary-ic", "echo-ic", "idle-ic"]

    with pytest.raises(ClientError) as raised:
        control_plane.describe_inference_component(InferenceComponentName="nope-ic")
    assert raised.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": 'Could not find inference component "arn:aws:sagemaker:us-east-1:111111111111:inference-component/nope-ic".',
    }
    with pytest.raises(ClientError) as raised:
        control_plane.update_inference_component_runtime_config(
            InferenceComponentName="nope-ic", DesiredRuntimeConfig={"CopyCount": 1}
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_the_dev_endpoints_variant_is_capacity_for_its_component(control_plane):
    dev = load_environment("dev").inference
    variant = dev.variants[0]
    described = control_plane.describe_endpoint(EndpointName=dev.endpoint_name)
    [summary] = described["ProductionVariants"]
    assert summary["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": variant.autoscaling.min_instances,
        "MaxInstanceCount": variant.autoscaling.max_instances,
    }
    assert "DeployedImages" not in summary  # the model is the component's
    [configured] = control_plane.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])[
        "ProductionVariants"
    ]
    assert "ModelName" not in configured and configured["ManagedInstanceScaling"] == summary["ManagedInstanceScaling"]
