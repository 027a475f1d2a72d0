"""The optional `deploy:` section of an environment: how `make deploy ENV=<env>` reaches AWS.

Nothing here changes a template; it only selects credentials and the CLI's safety settings.
`release/deploy.py` reads it. Prod always requires a typed confirmation and at least
`--require-approval broadening`, whatever this section says.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kit_config.config_section import ConfigSection
from kit_config.field_types import PassedRoleArn


class DeployConfig(ConfigSection):
    profile: Annotated[str, Field(pattern=r"^[A-Za-z0-9+=,.@_-]+$", max_length=64)] | None = Field(
        default=None,
        description="AWS named profile (~/.aws/config) the CDK CLI uses (`cdk deploy --profile`); "
        "unset: the default credential chain (AWS_* variables, AWS_PROFILE, instance/SSO role)",
    )
    role_arn: PassedRoleArn | None = Field(
        default=None,
        description="IAM role CloudFormation assumes for the deployment (`cdk deploy --role-arn`); "
        "unset: the bootstrap stack's CloudFormation execution role",
    )
    require_approval: Literal["never", "any-change", "broadening"] = Field(
        default="broadening",
        description="`cdk deploy --require-approval`: broadening asks before IAM or security-group changes "
        "that widen access (prod is always at least broadening)",
    )
    require_confirmation: bool = Field(
        default=False,
        description="Ask for the environment's name typed back (or CONFIRM=<env>) before deploying; always on for prod",
    )
