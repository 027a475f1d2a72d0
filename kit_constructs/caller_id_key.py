"""The environment's HMAC key for pseudonymous caller ids (KMS GenerateMac, HMAC_SHA_256).

The agent computes `HMAC(key, principal)` for every request: traces and logs carry that id, not
the principal or the token subject, and sessions are stored under it. The key material never
leaves KMS, so nobody holding traces or the session bucket can recompute or reverse an id.

Losing the key orphans every stored session (their keys can no longer be derived) and breaks the
link between old and new audit records, so it is retained like the environment's other keys.
HMAC keys cannot rotate automatically (EnableKeyRotation is for symmetric encryption keys only,
https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html), and rotating by
hand would change every id; the key is never rotated.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from kit_config.resource_names import kms_alias
from kit_constructs.encryption_keys import account_key_administration

PURPOSE = "caller-ids"
MAC_ALGORITHM = "HMAC_SHA_256"  # GenerateMac's MacAlgorithm for an HMAC_256 key (the runtime sends it)


@dataclass(frozen=True)
class CallerIdKeyProps:
    env_name: str
    project: str
    removal_policy: RemovalPolicy


class CallerIdKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: CallerIdKeyProps) -> None:
        super().__init__(scope, construct_id)
        # KeySpec and KeyUsage are immutable: CloudFormation refuses an update that changes either,
        # whatever the UpdateReplacePolicy (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html).
        self.key = kms.Key(
            self,
            "Key",
            alias=kms_alias(props.project, props.env_name, PURPOSE),
            description=f"{props.project} {props.env_name}: pseudonymous caller ids (HMAC); never rotated",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
            enable_key_rotation=False,  # not supported for HMAC keys (module docstring)
            pending_window=Duration.days(30),
            removal_policy=props.removal_policy,
            policy=iam.PolicyDocument(
                statements=[
                    account_key_administration(),
                    # Lets IAM policies grant the one operation the agent needs (grant_generate_mac decides
                    # who), with the one algorithm the ids are defined by.
                    iam.PolicyStatement(
                        sid="GenerateMacThroughIamPolicies",
                        principals=[iam.AccountRootPrincipal()],
                        actions=["kms:GenerateMac"],
                        resources=["*"],
                        conditions={"StringEquals": {"kms:MacAlgorithm": MAC_ALGORITHM}},
                    ),
                ]
            ),
        )

    @property
    def key_arn(self) -> str:
        return self.key.key_arn

    def grant_generate_mac(self, grantee: iam.IGrantable) -> iam.Grant:
        """Compute caller ids: kms:GenerateMac on this key only (no VerifyMac: ids are recomputed, not verified)."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=["kms:GenerateMac"], resource_arns=[self.key_arn])
