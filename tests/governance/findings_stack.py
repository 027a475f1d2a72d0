"""A stack with known findings for the governance tests: a role with a wildcard-resource managed policy
(and untagged resources, unless the test tags the stage)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack, Stage
from aws_cdk import aws_iam as iam


def role_with_wildcard_policy(stage: Stage) -> iam.ManagedPolicy:
    """Adds `Stack` to `stage` with the role and its policy; returns the policy (the findings' construct)."""
    stack = Stack(stage, "Stack")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.apply_removal_policy(RemovalPolicy.DESTROY)
    policy = iam.ManagedPolicy(
        stack, "Policy", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])]
    )
    role.add_managed_policy(policy)
    return policy
