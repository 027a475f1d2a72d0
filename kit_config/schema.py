"""The single source of truth for an environment's configuration.

Every stack receives a typed `EnvironmentConfig` (or one of its sections); nothing downstream
reads YAML or looks values up by string. Later capabilities add their own section models here.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from kit_config.agent_schema import AgentConfig, FargateAgent
from kit_config.arn_references import arn_problems
from kit_config.aws_partitions import region_problem, zone_problems
from kit_config.budget_schema import BudgetConfig
from kit_config.config_section import ConfigSection
from kit_config.deploy_schema import DeployConfig
from kit_config.field_types import EmailAddress
from kit_config.inference_schema import InferenceConfig
from kit_config.resource_names import name_problems
from kit_config.serving_image import image_region
from kit_config.validation_errors import errors_at

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
CLOUDWATCH_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
REQUIRED_TAG_KEYS = ("Project", "Environment", "Owner", "CostCenter", "DataClassification")
DATA_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")

# AWS tags (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html, the same
# rules in every tagging API): keys 1-128 and values up to 256 characters of letters, digits,
# spaces and + - = . _ : / @; no aws: prefix (any case) on keys or values; at most 50 tags a resource.
_TAG_KEY = re.compile(r"^[\w\s+\-=.:/@]{1,128}$", re.UNICODE)
_TAG_VALUE = re.compile(r"^[\w\s+\-=.:/@]{1,256}$", re.UNICODE)
MAX_TAGS_PER_RESOURCE = 50
KIT_ADDED_TAGS = 1  # DeployedCommit (stacks.environment_stage.deployed_commit_tag) on `make deploy`


class CreateVpc(ConfigSection):
    """Create a new VPC with isolated subnets only (no internet or NAT gateway)."""

    mode: Literal["create"]
    cidr: str = Field(description="IPv4 CIDR of the VPC, /16 to /24")
    az_count: int = Field(ge=1, le=6, description="Number of availability zones to span")
    availability_zones: list[str] | None = Field(
        default=None,
        description="AZ names; default: the region's first az_count letters (a, b, c, ...). "
        "Given explicitly so synth needs no credentials for an AZ lookup.",
    )
    subnet_prefix_length: int = Field(default=20, ge=16, le=28)
    s3_prefix_list_id: Annotated[str, Field(pattern=r"^pl-[0-9a-f]{8,17}$")] = Field(
        description="The region's S3 managed prefix list (com.amazonaws.<region>.s3): security groups "
        "allow HTTPS egress to S3 through the gateway endpoint by this id, not by 0.0.0.0/0"
    )

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        return str(_parse_vpc_cidr(value))

    @model_validator(mode="after")
    def _subnets_fit(self) -> CreateVpc:
        network = ipaddress.IPv4Network(self.cidr)
        if self.subnet_prefix_length <= network.prefixlen:
            raise ValueError(
                f"subnet_prefix_length /{self.subnet_prefix_length} must be longer than the VPC's /{network.prefixlen}"
            )
        room = 2 ** (self.subnet_prefix_length - network.prefixlen)
        if room < self.az_count:
            raise ValueError(
                f"{self.cidr} holds only {room} /{self.subnet_prefix_length} subnets; az_count is {self.az_count}"
            )
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise ValueError(
                f"availability_zones lists {len(self.availability_zones)} zones; az_count is {self.az_count}"
            )
        return self


# Interface endpoints the kit creates, by the service name after com.amazonaws.<region>. (MLflow's is
# aws.sagemaker.<region>.experiments). kit_constructs.isolated_network.AwsService maps them to CDK services.
INTERFACE_ENDPOINT_SERVICES = (
    "sagemaker.api",
    "sagemaker.runtime",
    "experiments",
    "sts",
    "logs",
    "monitoring",
    "ecr.api",
    "ecr.dkr",
    "kms",
)


class ExistingEndpoints(ConfigSection):
    """VPC endpoints the VPC already has, which the kit must reuse instead of creating again.

    A second interface endpoint with private DNS for the same service in one VPC fails to create
    (its private hosted zone conflicts), and so does a second S3 gateway route in a route table
    ("Access an AWS service using an interface VPC endpoint", PrivateLink guide:
    https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html;
    "Gateway endpoints": https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html).
    `make preflight` lists the VPC's endpoints and refuses a deploy that would collide.
    """

    services: list[Literal[INTERFACE_ENDPOINT_SERVICES]] = Field(  # type: ignore[valid-type]
        default=[], description="Services whose interface endpoint (private DNS on) already exists in the VPC"
    )
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default=[], description="Security groups of those endpoints; the kit's workloads get HTTPS egress to them"
    )
    s3_gateway: bool = Field(default=False, description="The route tables already route S3 through a gateway endpoint")

    @model_validator(mode="after")
    def _reachable(self) -> ExistingEndpoints:
        if len(set(self.services)) != len(self.services):
            raise ValueError(f"services lists a service twice: {self.services}")
        if self.services and not self.security_group_ids:
            raise ValueError(
                "set security_group_ids: the kit's workloads need an egress rule to the existing endpoints"
            )
        return self


class ExistingVpc(ConfigSection):
    """Use a VPC that already exists. Everything is given, so synth does no lookup."""

    mode: Literal["existing"]
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]{8,17}$")]
    vpc_cidr: str
    availability_zones: list[str] = Field(min_length=1, max_length=6)
    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]]
    route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]{8,17}$")]]
    s3_prefix_list_id: Annotated[str, Field(pattern=r"^pl-[0-9a-f]{8,17}$")] = Field(
        description="The region's S3 managed prefix list (see CreateVpc)"
    )
    existing_endpoints: ExistingEndpoints = ExistingEndpoints()

    @field_validator("vpc_cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        return str(_parse_vpc_cidr(value))

    @model_validator(mode="after")
    def _one_subnet_per_zone(self) -> ExistingVpc:
        zones = len(self.availability_zones)
        if len(self.subnet_ids) != zones or len(self.route_table_ids) != zones:
            raise ValueError(
                "subnet_ids and route_table_ids need one entry per availability zone "
                f"({zones}); got {len(self.subnet_ids)} and {len(self.route_table_ids)}"
            )
        return self


NetworkConfig = Annotated[CreateVpc | ExistingVpc, Field(discriminator="mode")]


class EnvironmentTags(ConfigSection):
    """Tags every taggable resource must carry. Extra tags are allowed and applied too."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    Project: str
    Environment: str
    Owner: str
    CostCenter: str
    DataClassification: Literal[DATA_CLASSIFICATIONS]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _valid_values(self) -> EnvironmentTags:
        tags = self.as_dict()
        for key, value in tags.items():
            if not _TAG_KEY.match(key):
                raise ValueError(
                    f"tag key {key!r} is not a valid AWS tag key (1-128 letters, digits, spaces or + - = . _ : / @)"
                )
            if not isinstance(value, str) or not _TAG_VALUE.match(value):
                raise ValueError(
                    f"tag {key}={value!r} is not a valid AWS tag value "
                    "(1-256 letters, digits, spaces or + - = . _ : / @)"
                )
            if key.lower().startswith("aws:") or value.lower().startswith("aws:"):
                raise ValueError(f"tag {key}={value!r}: the aws: prefix is reserved for AWS on tag keys and values")
        if len(tags) + KIT_ADDED_TAGS > MAX_TAGS_PER_RESOURCE:
            raise ValueError(
                f"{len(tags)} tags plus the kit's {KIT_ADDED_TAGS} (DeployedCommit) exceed AWS's {MAX_TAGS_PER_RESOURCE} tags per resource"
            )
        return self

    def as_dict(self) -> dict[str, str]:
        return {**self.model_dump(exclude=set(self.model_extra or {})), **(self.model_extra or {})}


class AlarmsConfig(ConfigSection):
    email_subscriptions: list[EmailAddress] = Field(default=[])


# --- MLflow (SageMaker managed) ------------------------------------------------------------
# MLflow versions a SageMaker tracking server can run (CreateMlflowTrackingServer MlflowVersion;
# "Tracking server versions" in the SageMaker developer guide). Pin the client to match:
# server 2.13.x -> mlflow==2.13.2, 2.16.x -> mlflow==2.16.2, 3.0 -> mlflow 3.x. An MLflow App has no
# version setting: SageMaker manages and upgrades it.
MLFLOW_TRACKING_SERVER_VERSIONS = ("2.13.2", "2.16.2", "3.0")
# Offered by SageMaker, refused by the kit: the agent registers its version as an MLflow LoggedModel
# and links every trace to it (agent_runtime/lineage.py), and a 2.x server has no LoggedModel API
# (added in MLflow 3.0), so tracing could never be set up. Read in each release's
# mlflow/server/handlers.py: 2.13.2 has no trace endpoints at all (tracing arrived in 2.14), 2.16.2
# has the V2 trace endpoints and no logged-models endpoints. local_runtime/mlflow_server.py runs the
# versions the kit accepts, and tests/local_runtime/test_mlflow_server.py traces against each.
MLFLOW_VERSIONS_THE_KIT_REFUSES = {
    "2.13.2": "an MLflow 2.13 server has neither a trace API (MLflow 2.14+) nor a LoggedModel API (MLflow 3.0+)",
    "2.16.2": "an MLflow 2.16 server has no LoggedModel API (MLflow 3.0+)",
}
# Same pattern as CloudFormation's WeeklyMaintenanceWindowStart: Ddd:HH:MM in UTC, e.g. Tue:03:30.
_MAINTENANCE_WINDOW = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$")
_ARTIFACT_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


class _MlflowCommon(ConfigSection):
    weekly_maintenance_window_start: str = Field(
        description="Start of SageMaker's weekly maintenance window, UTC, as Ddd:HH:MM (e.g. Tue:03:30)"
    )
    automatic_model_registration: bool = Field(
        default=False, description="Register MLflow models in the SageMaker Model Registry automatically"
    )
    artifact_prefix: str = Field(
        default="mlflow", description="Key prefix in the artifact bucket (no leading or trailing slash)"
    )
    artifact_retention_days: int | None = Field(
        default=None, ge=1, description="Expire current artifact objects after this many days; unset keeps them"
    )

    @field_validator("weekly_maintenance_window_start")
    @classmethod
    def _valid_window(cls, value: str) -> str:
        if not _MAINTENANCE_WINDOW.match(value):
            raise ValueError(
                f"{value!r} is not a weekly maintenance window; use Ddd:HH:MM in UTC with a three-letter "
                "day and two-digit hour and minute, e.g. Tue:03:30"
            )
        return value

    @field_validator("artifact_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if not _ARTIFACT_PREFIX.match(value):
            raise ValueError(
                f"{value!r} is not an artifact prefix; use lower-case S3 key segments separated by '/', "
                "without a leading or trailing slash (e.g. mlflow or agents/mlflow)"
            )
        return value


class MlflowTrackingServerConfig(_MlflowCommon):
    """A SageMaker managed MLflow tracking server: fixed size, pinned MLflow version, billed per hour."""

    kind: Literal["tracking_server"]
    size: Literal["Small", "Medium", "Large"]
    mlflow_version: str = Field(description="One of MLFLOW_TRACKING_SERVER_VERSIONS")

    @field_validator("mlflow_version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in MLFLOW_TRACKING_SERVER_VERSIONS:
            raise ValueError(
                f"{value!r} is not an MLflow version SageMaker tracking servers support; choose one of "
                + ", ".join(MLFLOW_TRACKING_SERVER_VERSIONS)
            )
        if value in MLFLOW_VERSIONS_THE_KIT_REFUSES:
            accepted = [v for v in MLFLOW_TRACKING_SERVER_VERSIONS if v not in MLFLOW_VERSIONS_THE_KIT_REFUSES]
            raise ValueError(
                f"{value!r} cannot trace this kit's agent: {MLFLOW_VERSIONS_THE_KIT_REFUSES[value]}, and the agent "
                "registers its version as a LoggedModel and links every trace to it; use "
                + " or ".join(repr(v) for v in accepted)
                + " (a server cannot be upgraded in place: a new version is a new tracking server)"
            )
        return value


class MlflowAppConfig(_MlflowCommon):
    """A serverless SageMaker MLflow App: no size or version to manage, billed per use."""

    kind: Literal["app"]


MlflowConfig = Annotated[MlflowTrackingServerConfig | MlflowAppConfig, Field(discriminator="kind")]


class EnvironmentConfig(ConfigSection):
    """One deployment environment (dev, staging, prod, ...)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")]
    account: str = Field(description="12-digit AWS account id, quoted in YAML")
    region: str
    tags: EnvironmentTags
    log_retention_days: int = Field(
        description="Minimum retention for every log group; one of CloudWatch's accepted values"
    )
    removal_policy: Literal["retain", "destroy"]
    network: NetworkConfig
    alarms: AlarmsConfig = AlarmsConfig()
    mlflow: MlflowConfig
    inference: InferenceConfig
    agent: AgentConfig
    budget: BudgetConfig
    deploy: DeployConfig = DeployConfig()

    @field_validator("account", mode="before")
    @classmethod
    def _valid_account(cls, value: object) -> object:
        # An unquoted YAML number is an int and would silently lose leading zeros.
        if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value):
            raise ValueError(f'{value!r} is not a 12-digit AWS account id in quotes (e.g. "123456789012")')
        return value

    @field_validator("region")
    @classmethod
    def _valid_region(cls, value: str) -> str:
        # A region botocore's partition data lists (kit_config.aws_partitions).
        if problem := region_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _cloudwatch_retention(cls, value: int) -> int:
        if value not in CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(
                f"{value} is not a retention CloudWatch Logs accepts; choose one of "
                + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
            )
        return value

    @field_validator("tags")
    @classmethod
    def _environment_tag_matches(cls, tags: EnvironmentTags, info: ValidationInfo) -> EnvironmentTags:
        name = info.data.get("name")
        if name and tags.Environment != name:
            raise ValueError(f"Environment tag is {tags.Environment!r} but this file configures {name!r}")
        return tags

    @field_validator("agent")
    @classmethod
    def _variant_exists(cls, agent, info: ValidationInfo):
        inference = info.data.get("inference")
        variant = agent.runtime.target_variant
        if inference and variant and variant not in {v.name for v in inference.variants}:
            raise ValueError(
                f"runtime.target_variant {variant!r} is not a variant of inference.endpoint_name {inference.endpoint_name!r}"
            )
        return agent

    @field_validator("agent")
    @classmethod
    def _load_balancer_deployable(cls, agent, info: ValidationInfo):
        if not isinstance(agent, FargateAgent):
            return agent
        network = info.data.get("network")
        problems = []
        # The certificate's account and region: _arns_in_environment (kit_config.field_types.CertificateArn).
        # An Application Load Balancer needs subnets in at least two Availability Zones
        # (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html).
        zones = _zone_count(network)
        if zones is not None and zones < 2:
            problems.append(
                (
                    (),
                    (
                        f"compute: fargate puts the agent behind an Application Load Balancer, which needs subnets in at "
                        f"least two Availability Zones; network spans {zones}. Use 2+ zones or compute: lambda"
                    ),
                )
            )
        if problems:
            raise errors_at("AgentConfig", problems)
        return agent

    @field_validator("inference")
    @classmethod
    def _image_in_region(cls, inference: InferenceConfig, info: ValidationInfo) -> InferenceConfig:
        # "The Docker image for inference container in Amazon ECR must be in the same region as the
        # model or endpoint" (ContainerDefinition Image,
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html).
        region = info.data.get("region")
        if inference.image and region and image_region(inference.image) != region:
            raise errors_at(
                "InferenceConfig",
                [
                    (
                        ("image",),
                        (
                            f"the image is in {image_region(inference.image)}'s registry; SageMaker pulls the serving image "
                            f"only from the endpoint's region ({region}): use that region's ECR (or replicate the image there)"
                        ),
                    )
                ],
            )
        return inference

    @model_validator(mode="after")
    def _derived_names_fit(self) -> EnvironmentConfig:
        problems = name_problems(self.tags.Project, self.name, self.account)
        if problems:
            raise errors_at(
                "EnvironmentConfig",
                [
                    (
                        ("tags", "Project"),
                        (
                            f"{self.tags.Project!r} (with environment {self.name!r}) makes resource names AWS rejects: "
                            + "; ".join(problems)
                            + ". Use a shorter Project of letters, digits and hyphens"
                        ),
                    )
                ],
            )
        return self

    @field_validator("budget")
    @classmethod
    def _budget_reaches_someone(cls, budget: BudgetConfig, info: ValidationInfo) -> BudgetConfig:
        alarms = info.data.get("alarms")
        alarm_emails = alarms.email_subscriptions if alarms else []
        if not budget.recipients(alarm_emails) and not budget.notify_alarm_topic:
            raise ValueError(
                "the budget would notify nobody: set emails, alarms.email_subscriptions or notify_alarm_topic: true"
            )
        return budget

    @field_validator("mlflow")
    @classmethod
    def _mlflow_reachable(cls, mlflow, info: ValidationInfo):
        # Every network the kit deploys into is isolated (no internet or NAT gateway: CreateVpc, ExistingVpc), and
        # an MLflow App is reachable only over the internet: sagemaker-mlflow sends an App's calls to
        # mlflow.sagemaker.<region>.app.aws (mlflow_sagemaker_helpers.py), while AWS offers PrivateLink (the
        # `experiments` endpoint, <region>.experiments.sagemaker.aws) for tracking servers only ("Connecting to an
        # MLflow tracking server through an Interface VPC Endpoint"). The egress contract (governance/egress/) checks it.
        if isinstance(mlflow, MlflowAppConfig) and info.data.get("network") is not None:
            raise errors_at(
                "MlflowConfig",
                [
                    (
                        ("kind",),
                        (
                            "an MLflow App cannot be reached from the kit's isolated network: the agent's MLflow client "
                            "(sagemaker-mlflow) calls an App at mlflow.sagemaker.<region>.app.aws, and PrivateLink (the "
                            "`experiments` interface endpoint) serves tracking servers only, so every trace would fail "
                            "quietly. Use kind: tracking_server (size, mlflow_version)"
                        ),
                    )
                ],
            )
        return mlflow

    @field_validator("network")
    @classmethod
    def _zones_in_region(cls, network: CreateVpc | ExistingVpc, info: ValidationInfo) -> CreateVpc | ExistingVpc:
        region = info.data.get("region")
        problems = zone_problems(region, list(network.availability_zones or ())) if region else []
        if problems:
            raise errors_at("NetworkConfig", [(("availability_zones", index), why) for index, why in problems])
        return network

    @model_validator(mode="after")
    def _arns_in_environment(self) -> EnvironmentConfig:
        # Every ARN-typed field (kit_config.field_types.aws_arn), wherever it is: partition, region, account.
        problems = arn_problems(self, account=self.account, region=self.region)
        if problems:
            raise errors_at("EnvironmentConfig", problems)
        return self

    @property
    def availability_zones(self) -> list[str]:
        network = self.network
        if network.availability_zones is not None:
            return list(network.availability_zones)
        return [self.region + letter for letter in "abcdef"[: network.az_count]]

    @property
    def vpc_cidr(self) -> str:
        return self.network.cidr if isinstance(self.network, CreateVpc) else self.network.vpc_cidr


def _zone_count(network: CreateVpc | ExistingVpc | None) -> int | None:
    if network is None:
        return None
    return len(network.availability_zones) if network.availability_zones is not None else network.az_count


def _parse_vpc_cidr(value: str) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR block ({error})") from None
    if not 16 <= network.prefixlen <= 24:
        raise ValueError(f"a VPC CIDR must be /16 to /24; {value} is /{network.prefixlen}")
    return network
