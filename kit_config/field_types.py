"""Field types more than one config section uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


@dataclass(frozen=True)
class ArnScope:
    """Where the resource an ARN field names must live, relative to the environment.

    Carried in the field's `Annotated` metadata; `kit_config.arn_references` walks a loaded config
    and checks every value of a field that has one against the environment's account, region and
    partition, so a new ARN field is checked by declaring it with `aws_arn(...)`, not by new code.
    """

    service: str  # the ARN's service segment: acm, iam, kms, ...
    resource: str  # regex of the resource segment (after the account)
    regional: bool  # True: the ARN's region must be the environment's; False: a global service (empty region)
    same_account: bool  # True: the ARN's account must be the environment's
    why: str  # the AWS rule that makes it so, with its source, for the error message


def aws_arn(scope: ArnScope):
    """A string field holding an ARN of `scope`'s service and resource form, checked against the environment."""
    region = r"[a-z]{2,}(-[a-z]+)+-\d+" if scope.regional else ""
    pattern = rf"^arn:aws(-[a-z]+)*:{scope.service}:{region}:\d{{12}}:{scope.resource}$"
    return Annotated[str, Field(pattern=pattern), scope]


# An ACM certificate serves only load balancers in its own account and region: certificates are
# regional and cannot be copied between regions ("Supported Regions", ACM user guide,
# https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html), and ACM has no resource policy
# or RAM share for certificates, so another account's certificate is not found by the listener.
CertificateArn = aws_arn(
    ArnScope(
        service="acm",
        resource=r"certificate/[0-9a-f-]{36}",
        regional=True,
        same_account=True,
        why="an ACM certificate can only be used by a load balancer in its own account and region "
        "(https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html); request or import it there",
    )
)

# A role handed to a service (CloudFormation's RoleARN, via `cdk deploy --role-arn`) is passed with
# iam:PassRole, which works only within the account: "You can only use the PassRole permission to pass
# an IAM role to a service that shares the same AWS account" (IAM user guide, id_roles_use_passrole,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html). IAM is global: no region.
PassedRoleArn = aws_arn(
    ArnScope(
        service="iam",
        resource=r"role/[A-Za-z0-9+=,.@_/-]+",
        regional=False,
        same_account=True,
        why="a role is passed to a service (iam:PassRole) only within its own account "
        "(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html)",
    )
)
