"""Kit-EcsWritableScratch: a container with a read-only root filesystem has a writable /tmp and HOME.

With `ReadonlyRootFilesystem`, the only writable paths are mounted volumes and tmpfs mounts (which
Fargate supports since January 2026: aws/containers-roadmap#736). An empty bind-mount volume is
owned by root, so a non-root user can write to it only when the image declares the path as a
`VOLUME` with the right owner ("Bind mounts" in the ECS developer guide,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html; containers-roadmap #938).
Python's tempfile and many libraries write to `TMPDIR` (default /tmp) and `HOME`: both must point
into a mounted volume. That the image declares the VOLUME is checked by tests/test_dockerfile.py.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy


class EcsWritableScratch:
    rule_id = "EcsWritableScratch"
    resource_types = ("AWS::ECS::TaskDefinition",)  # check() is NOT_APPLICABLE to any other type
    info = "A container with a read-only root filesystem has no writable temp directory or HOME."
    explanation = (
        "Mount a task volume (declared as VOLUME in the image, owned by the container user) or a tmpfs at /tmp, "
        "and set TMPDIR and HOME to paths inside it."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::ECS::TaskDefinition":
            return NagRuleCompliance.NOT_APPLICABLE
        findings = []
        for container in cfn_properties(node).get("ContainerDefinitions") or []:
            name = container.get("Name", "?")
            if container.get("ReadonlyRootFilesystem") is not True:
                continue
            mounts = [m.get("ContainerPath", "") for m in container.get("MountPoints") or [] if not m.get("ReadOnly")]
            mounts += [t.get("ContainerPath", "") for t in (container.get("LinuxParameters") or {}).get("Tmpfs") or []]
            environment = {item.get("Name"): item.get("Value") for item in container.get("Environment") or []}
            for variable, default in (("TMPDIR", "/tmp"), ("HOME", None)):
                path = environment.get(variable, default)
                if not isinstance(path, str) or not any(_inside(path, mount) for mount in mounts):
                    findings.append(f"{variable}NotWritable::{name}")
        return findings_or_compliant(findings)


def _inside(path: str, mount: str) -> bool:
    mount = mount.rstrip("/")
    return path == mount or path.startswith(mount + "/")
