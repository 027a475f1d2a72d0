"""Kit-SageMakerGpuDriverFitsImage: each GPU variant's host driver runs its model image's CUDA.

An image built for a newer CUDA than the host's NVIDIA driver supports fails the endpoint with
`CannotStartContainerError` after the instances are provisioned ("GPU drivers for inference",
https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html). The host runs the
instance family's default driver unless the variant names an `InferenceAmiVersion`
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html). The facts
are `kit_config.gpu_drivers`, which config load applies to the kit's own config; this rule applies
them to any endpoint config in the app, e.g. one a library user builds by hand.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import resource
from kit_config.gpu_drivers import INFERENCE_AMIS, cuda_from_tag, default_driver, minimum_driver
from kit_config.instance_catalogue import INSTANCE_CATALOGUE, NEURON_ACCELERATORS


class SageMakerGpuDriverFitsImage:
    rule_id = "SageMakerGpuDriverFitsImage"
    resource_types = ("AWS::SageMaker::EndpointConfig",)  # check() is NOT_APPLICABLE to any other type
    info = "A GPU variant's host NVIDIA driver is older than its image's CUDA needs: the container cannot start."
    explanation = (
        "Set the production variant's InferenceAmiVersion to an AMI whose driver runs the image's CUDA "
        "(e.g. al2023-ami-sagemaker-inference-gpu-4-1, driver 580, for cu130 images), or use an image built "
        "for the family's default driver."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::SageMaker::EndpointConfig":
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        findings = []
        for variant in cfn_properties(node).get("ProductionVariants") or []:
            instance_type = variant.get("InstanceType")
            spec = INSTANCE_CATALOGUE.get(instance_type) if isinstance(instance_type, str) else None
            if spec is None or spec.accelerator in NEURON_ACCELERATORS:
                continue  # serverless, CPU, Neuron, or a type the kit does not know
            image = _image(stack, variant.get("ModelName"))
            cuda = cuda_from_tag(image.rsplit(":", 1)[-1]) if image and ":" in image else None
            needed = minimum_driver(cuda) if cuda else None
            if needed is None:
                continue  # the image names no CUDA (or a digest): nothing to compare
            ami = variant.get("InferenceAmiVersion")
            host = INFERENCE_AMIS[ami].nvidia_driver if ami in INFERENCE_AMIS else default_driver(instance_type)
            name = variant.get("VariantName", "?")
            if host is None:
                findings.append(f"UnknownHostDriver::{name}")
            elif host < needed:
                findings.append(f"DriverTooOld::{name}::{host}<{needed}")
        return findings_or_compliant(findings)


def _image(stack: Stack, model_name) -> str | None:
    model = resource(stack, model_name)
    if model is None:
        return None
    image = (cfn_properties(model).get("PrimaryContainer") or {}).get("Image")
    return image if isinstance(image, str) else None
