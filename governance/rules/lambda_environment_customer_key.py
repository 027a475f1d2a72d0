"""Kit-LambdaEnvironmentCustomerKey: a function's environment variables are encrypted with a customer-managed
key its execution role can decrypt.

Without `KmsKeyArn` Lambda encrypts environment variables with the AWS managed key `aws/lambda`, whose
policy the account cannot restrict, audit separately or disable (checkov CKV_AWS_173; "Securing Lambda
environment variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html).
With a customer-managed key, Lambda decrypts the variables at each cold start as the function's execution
role: a role without `kms:Decrypt` on the key deploys fine and fails every invocation with
`KMSAccessDeniedException` (CDK's `environment_encryption` grants nothing). The rule follows the role
when it is a resource of the same stack.
"""

from __future__ import annotations

import fnmatch

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import allowed_resources, resource, role_policy_documents


class LambdaEnvironmentCustomerKey:
    rule_id = "LambdaEnvironmentCustomerKey"
    resource_types = ("AWS::Lambda::Function",)  # check() is NOT_APPLICABLE to any other type
    info = "The Lambda function's environment variables are encrypted with the AWS managed key, or its role cannot decrypt them."
    explanation = (
        "Set the function's KmsKeyArn (CDK: environment_encryption) to the environment's customer-managed key, "
        "and grant the execution role kms:Decrypt on it (key.grant_decrypt(role))."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::Lambda::Function":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        if not (properties.get("Environment") or {}).get("Variables"):
            return NagRuleCompliance.NOT_APPLICABLE  # nothing stored to encrypt
        key = properties.get("KmsKeyArn")
        if not key:
            return ["AwsManagedKey"]
        stack = Stack.of(node)
        role = resource(stack, properties.get("Role"))
        if role is None:
            return NagRuleCompliance.COMPLIANT  # an imported role: its policies are not visible here
        granted = allowed_resources([doc for _, doc in role_policy_documents(stack, role)], "kms:Decrypt")
        return findings_or_compliant([] if any(_covers(arn, key) for arn in granted) else ["RoleCannotDecrypt"])


def _covers(granted, key) -> bool:
    if granted == "*" or granted == key:
        return True
    return isinstance(granted, str) and isinstance(key, str) and fnmatch.fnmatchcase(key, granted)
