"""The kit's SageMaker rules reject what no built-in pack checks: isolation, encryption, autoscaling."""

from __future__ import annotations

import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_sagemaker as sagemaker

from tests.helpers import gate_findings

pytestmark = pytest.mark.synth

ROLE = "arn:aws:iam::123456789012:role/model"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"


def kit(findings: dict, rule: str) -> list[str]:
    return sorted(rule_id for rule_id in findings if rule_id.startswith(f"Kit-{rule}"))


def test_model_without_isolation_or_vpc_is_rejected(tmp_path):
    def build(stack):
        sagemaker.CfnModel(
            stack,
            "Open",
            execution_role_arn=ROLE,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE),
        )

    assert kit(gate_findings(build, tmp_path=tmp_path), "SageMakerModelIsolated") == [
        "Kit-SageMakerModelIsolated[NetworkIsolationOff]",
        "Kit-SageMakerModelIsolated[NoVpcConfig]",
    ]


def test_isolated_model_in_a_vpc_passes(tmp_path):
    def build(stack):
        sagemaker.CfnModel(
            stack,
            "Isolated",
            execution_role_arn=ROLE,
            enable_network_isolation=True,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(image=IMAGE),
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=["sg-0123456789abcdef0"], subnets=["subnet-0123456789abcdef0"]
            ),
        )

    assert kit(gate_findings(build, tmp_path=tmp_path), "SageMakerModelIsolated") == []


def variant(name: str, instance_type: str) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=name, model_name="model", instance_type=instance_type, initial_instance_count=1
    )


def test_endpoint_config_without_kms_or_capture_is_rejected(tmp_path):
    def build(stack):
        sagemaker.CfnEndpointConfig(stack, "Plain", production_variants=[variant("a", "ml.inf2.xlarge")])

    assert kit(gate_findings(build, tmp_path=tmp_path), "SageMakerEndpointConfigEncrypted") == [
        "Kit-SageMakerEndpointConfigEncrypted[NoDataCapture]",
        "Kit-SageMakerEndpointConfigEncrypted[NoStorageKmsKey]",
    ]


def test_unencrypted_capture_is_rejected_and_nvme_types_need_no_storage_key(tmp_path):
    def build(stack):
        sagemaker.CfnEndpointConfig(
            stack,
            "Capture",
            production_variants=[variant("a", "ml.g5.2xlarge")],
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                destination_s3_uri="s3://bucket/capture",
                initial_sampling_percentage=10,
                capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input")],
            ),
        )

    assert kit(gate_findings(build, tmp_path=tmp_path), "SageMakerEndpointConfigEncrypted") == [
        "Kit-SageMakerEndpointConfigEncrypted[DataCaptureNotKmsEncrypted]",
    ]


def endpoint_with_variants(stack, scaled: list[str]) -> None:
    config = sagemaker.CfnEndpointConfig(
        stack, "Config", production_variants=[variant("a", "ml.g5.2xlarge"), variant("b", "ml.g5.2xlarge")]
    )
    sagemaker.CfnEndpoint(stack, "Endpoint", endpoint_name="llm", endpoint_config_name=config.attr_endpoint_config_name)
    for name in scaled:
        appscaling.ScalableTarget(
            stack,
            f"Scale{name}",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/llm/variant/{name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=1,
            max_capacity=2,
        )


def test_variant_without_scalable_target_is_rejected(tmp_path):
    findings = gate_findings(lambda stack: endpoint_with_variants(stack, ["a"]), tmp_path=tmp_path)
    assert kit(findings, "SageMakerVariantAutoscaled") == ["Kit-SageMakerVariantAutoscaled[NoScalableTarget::b]"]
    assert findings["Kit-SageMakerVariantAutoscaled[NoScalableTarget::b]"] == ["gate/UnderTest/Endpoint"]


def test_every_variant_scaled_passes(tmp_path):
    findings = gate_findings(lambda stack: endpoint_with_variants(stack, ["a", "b"]), tmp_path=tmp_path)
    assert kit(findings, "SageMakerVariantAutoscaled") == []
