"""Kit-ImageBuiltForItsRuntime: every container image asset is built for the machine that runs it.

A Docker image asset without a `platform` is built for the machine that runs `cdk deploy`: arm64 on an
Apple-silicon laptop. An X86_64 Fargate task then fails with "exec format error" and the deployment circuit
breaker rolls back minutes later; a Lambda function fails at init. The platform an asset is built for is
recorded only in the stack's asset manifest (`<stack>.assets.json`, `dockerImages.<hash>.source.platform`),
which CDK writes before the validation plugins run; this rule reads it there.

Runtimes: Lambda `Architectures` (default x86_64, https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html);
ECS `RuntimePlatform.CpuArchitecture` (X86_64 when absent,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#runtime-platform).
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import CfnResource, Stack, Stage
from aws_cdk import aws_ecr_assets as ecr_assets
from cdk_nag import NagRuleCompliance
from constructs import IConstruct

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant, memoized
from governance.policy import GovernancePolicy

_LAMBDA_PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
_ECS_PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}


class ImageBuiltForItsRuntime:
    rule_id = "ImageBuiltForItsRuntime"
    resource_types = ("AWS::Lambda::Function", "AWS::ECS::TaskDefinition")
    info = "A container image asset does not declare the platform of the compute that runs it."
    explanation = (
        "Set the asset's platform (Lambda: the function's architecture; ECS: the task's runtime platform), or "
        "`cdk deploy` builds for the deploying machine and the image fails to start on the service's CPUs."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        assets = _image_assets(node.node.scope)
        if not assets:
            return NagRuleCompliance.NOT_APPLICABLE
        expected = _runtime_platform(node)
        built = _built_platforms(Stack.of(node))
        if built is None:
            return ["AssetManifestMissing"]  # evaluated outside a synth: nothing records the platform
        findings = []
        for asset in assets:
            platform = built.get(asset.asset_hash)
            if platform is None:
                findings.append(f"NoPlatform::{asset.node.path.rsplit('/', 2)[-2]}")
            elif platform != expected:
                findings.append(f"PlatformMismatch::{platform}::{expected}")
        return findings_or_compliant(findings)


def _image_assets(scope: IConstruct | None) -> list[ecr_assets.DockerImageAsset]:
    """The image assets built for this function or task definition (its L2 construct's descendants)."""
    if scope is None:
        return []
    return [child for child in scope.node.find_all() if isinstance(child, ecr_assets.DockerImageAsset)]


def _runtime_platform(node: CfnResource) -> str:
    properties = cfn_properties(node)
    if node.cfn_resource_type == "AWS::Lambda::Function":
        [architecture] = properties.get("Architectures") or ["x86_64"]
        return _LAMBDA_PLATFORMS.get(architecture, architecture)
    cpu = (properties.get("RuntimePlatform") or {}).get("CpuArchitecture", "X86_64")
    return _ECS_PLATFORMS.get(cpu, cpu)


def _built_platforms(stack: Stack) -> dict[str, str | None] | None:
    """{asset hash: platform} from the stack's written asset manifest, or None if it is not written."""
    manifest = Path(Stage.of(stack).outdir) / f"{stack.artifact_id}.assets.json"
    return memoized("asset_platforms", stack, lambda: _read_platforms(manifest))


def _read_platforms(manifest: Path) -> dict[str, str | None] | None:
    if not manifest.is_file():
        return None
    images = json.loads(manifest.read_text()).get("dockerImages", {})
    return {asset_hash: image["source"].get("platform") for asset_hash, image in images.items()}
