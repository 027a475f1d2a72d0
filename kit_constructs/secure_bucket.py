"""S3 buckets that meet the kit's bucket rules (Kit-S3BucketBaseline) by construction.

`SecureBucket`: KMS (customer key), TLS-only, versioned, all public access blocked, server
access logs to the environment's `AccessLogBucket`, lifecycle from the environment's retention.
Consumers use `grant_read` / `grant_read_write` (optionally on a key prefix), never IAM by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration, FeatureFlags, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from kit_constructs.acknowledgments import acknowledge, finding_id


def _baseline(**overrides) -> dict:
    return {
        "versioned": True,
        "enforce_ssl": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        **overrides,
    }


# With this flag S3 log delivery is granted by bucket policy; without it CDK gives the target bucket
# the LogDeliveryWrite ACL, which ACL-less buckets (BucketOwnerEnforced, the kit's baseline) refuse.
ACCESS_LOGS_BY_POLICY_FLAG = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

_NO_REPLICATION = (
    "Single-region kit: durability comes from S3's multi-AZ storage plus versioning; cross-region "
    "replication is a deployment choice, not a default."
)


@dataclass(frozen=True)
class AccessLogBucketProps:
    retention_days: int
    removal_policy: RemovalPolicy


class AccessLogBucket(Construct):
    """Target of S3 server access logs for the environment's buckets."""

    def __init__(self, scope: Construct, construct_id: str, props: AccessLogBucketProps) -> None:
        super().__init__(scope, construct_id)
        if not FeatureFlags.of(self).is_enabled(ACCESS_LOGS_BY_POLICY_FLAG):
            raise ValueError(
                f"AccessLogBucket needs the feature flag {ACCESS_LOGS_BY_POLICY_FLAG} (set by `cdk init`): "
                f'add "{ACCESS_LOGS_BY_POLICY_FLAG}": true to the context in your cdk.json'
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            **_baseline(
                # S3 server access log delivery writes only to SSE-S3 target buckets (SSE-KMS is
                # not supported), hence the one acknowledged kit finding below.
                encryption=s3.BucketEncryption.S3_MANAGED,
                removal_policy=props.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        expiration=Duration.days(props.retention_days),
                        noncurrent_version_expiration=Duration.days(7),
                    )
                ],
            ),
        )
        acknowledge(
            self.bucket,
            {
                finding_id("Kit-S3BucketBaseline", "NotKmsEncrypted"): (
                    "S3 server access log delivery supports only SSE-S3 target buckets; this bucket holds access logs only."
                ),
                finding_id("HIPAA.Security-S3DefaultEncryptionKMS"): (
                    "S3 server access log delivery supports only SSE-S3 target buckets."
                ),
                finding_id("NIST.800.53.R5-S3DefaultEncryptionKMS"): (
                    "S3 server access log delivery supports only SSE-S3 target buckets."
                ),
                finding_id("HIPAA.Security-S3BucketReplicationEnabled"): _NO_REPLICATION,
                finding_id("NIST.800.53.R5-S3BucketReplicationEnabled"): _NO_REPLICATION,
            },
        )


@dataclass(frozen=True)
class SecureBucketProps:
    key: kms.IKey
    access_logs: AccessLogBucket
    removal_policy: RemovalPolicy
    purpose: str  # short name; also the access-log prefix
    expiration_days: int | None = None  # current objects; None keeps them
    noncurrent_version_days: int = 30
    # A physical name makes the bucket's ARN a literal in other stacks (stable IAM and nag finding
    # ids); leave None to let CloudFormation generate one.
    bucket_name: str | None = None


class SecureBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        self.key = props.key
        self._name = props.bucket_name
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            **_baseline(
                bucket_name=props.bucket_name,
                encryption=s3.BucketEncryption.KMS,
                encryption_key=props.key,
                bucket_key_enabled=True,  # fewer KMS calls (and cost) per object
                server_access_logs_bucket=props.access_logs.bucket,
                server_access_logs_prefix=f"{props.purpose}/",
                removal_policy=props.removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        expiration=Duration.days(props.expiration_days) if props.expiration_days else None,
                        noncurrent_version_expiration=Duration.days(props.noncurrent_version_days),
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    )
                ],
            ),
        )
        acknowledge(
            self.bucket,
            {
                finding_id("HIPAA.Security-S3BucketReplicationEnabled"): _NO_REPLICATION,
                finding_id("NIST.800.53.R5-S3BucketReplicationEnabled"): _NO_REPLICATION,
            },
        )

    @property
    def bucket_name(self) -> str:
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        return self.bucket.bucket_arn

    def s3_uri(self, prefix: str = "") -> str:
        return f"s3://{self.bucket.bucket_name}/{prefix}"

    # Explicit actions rather than CDK's bucket grants, whose wildcards (s3:GetObject*, s3:List*,
    # s3:DeleteObject*, kms:ReEncrypt*...) reach further than reading and writing objects.

    def grant_read(self, grantee: iam.IGrantable, prefix: str = "*") -> iam.Grant:
        """Get and list objects under `prefix` (e.g. "models/*"), decrypting with the bucket's key."""
        return self._grant(grantee, prefix, ["s3:GetObject"], ["kms:Decrypt"], listing=True)

    def grant_write(self, grantee: iam.IGrantable, prefix: str = "*") -> iam.Grant:
        """Put objects under `prefix` (no read, no delete), encrypting with the bucket's key."""
        # Decrypt too: multipart uploads of SSE-KMS objects decrypt the parts' data key.
        return self._grant(
            grantee, prefix, ["s3:PutObject", "s3:AbortMultipartUpload"], ["kms:GenerateDataKey", "kms:Decrypt"]
        )

    def grant_read_write(self, grantee: iam.IGrantable, prefix: str = "*") -> iam.Grant:
        """Read, list, write and delete objects under `prefix`, with the key's encrypt/decrypt."""
        return self._grant(
            grantee,
            prefix,
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            ["kms:Decrypt", "kms:GenerateDataKey"],
            listing=True,
        )

    def _grant(
        self,
        grantee: iam.IGrantable,
        prefix: str,
        object_actions: list[str],
        key_actions: list[str],
        listing: bool = False,
    ) -> iam.Grant:
        # A named bucket is granted by its literal ARN: no cross-stack export for consumers' policies.
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{self._name}" if self._name else self.bucket.bucket_arn
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=object_actions, resource_arns=[f"{bucket_arn}/{prefix}"]
        )
        if listing:
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["s3:ListBucket"],
                resource_arns=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [prefix]}},
            )
        iam.Grant.add_to_principal(grantee=grantee, actions=key_actions, resource_arns=[self.key.key_arn])
        return grant
