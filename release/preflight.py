"""`make preflight ENV=<env>`: what only the AWS account can answer, checked before `cdk deploy`.

A synthesized, gated assembly can still fail half-way through a deploy (or after an hour of
rollback) because of the account it lands in. Preflight reads the assembly that will be deployed
and asks the account, with the env's credentials:

  account    the credentials belong to the config's `account` (sts get-caller-identity);
  image      every SageMaker model's serving image exists in ECR (ecr describe-images);
  weights    every model's S3 prefix has objects, and `config.json` (LMI loads HF-format weights);
  quota      "<instance type> for endpoint usage" covers the update's peak (blue/green: 2x the
             fleet; an inference component's rolling update: the fleet plus one batch of copies);
  lambda     the Lambda agent's reserved concurrency leaves 100 unreserved in the account;
  bootstrap  the CDK bootstrap version (SSM) is at least what the assembly requires;
  update     no autoscaled (registered) variant changes instance type or disappears, no
             blue/green endpoint changes its variant names, and no live endpoint switches between
             models on its variants and inference components, against the deployed templates
             (release/update_hazards.py);
  endpoints  (existing VPC) no interface endpoint with private DNS for a service the kit creates,
             and no S3 gateway endpoint on the kit's route tables, exists already;
  zones      every interface endpoint service the kit creates is offered in every configured AZ;
  tags       (warns) the budget's cost allocation tags are active, or the budget tracks $0;
  roles      (warns) Application Auto Scaling's service-linked roles exist, or the first scalable
             target needs iam:CreateServiceLinkedRole.

Every problem is listed in one refusal, not just the first. What cannot be verified (access
denied, for instance on AWS's LMI registry in account 763104351884) is reported with the CLI
command to check it by hand and does not block; neither do warnings (what leaves the deploy
working but something silently broken, or needs a permission preflight cannot see).

    python -m release.preflight --env dev [--assembly DIR] [--explain]

Without `--assembly` it synthesizes the env into `cdk.out.preflight/<env>` first. Without
credentials (or with `--explain`) it prints what it would check and exits 0. `make deploy` runs
it after synth and before `cdk deploy`; its dry run prints the explanation.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from release import toolchain
from release.assembly import StackArtifact, stacks
from release.credentials import credential_source
from release.update_hazards import find_hazards, referenced

PREFLIGHT_OUT = Path("cdk.out.preflight")
OK, REFUSE, UNVERIFIED, WARN = "ok", "refuse", "unverified", "warn"
DEFAULT_BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"

# Sources of the constraints encoded below.
ECR_DESCRIBE_IMAGES = "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html"
LMI_ARTIFACTS = "https://docs.djl.ai/docs/serving/serving/docs/lmi/deployment_guide/model-artifacts.html"
SAGEMAKER_QUOTAS = "https://docs.aws.amazon.com/general/latest/gr/sagemaker.html"
LIST_SERVICE_QUOTAS = "https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html"
BLUE_GREEN = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html"
LAMBDA_CONCURRENCY = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html"
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"  # Lambda "Concurrent executions"
LAMBDA_UNRESERVED_MINIMUM = 100
CDK_BOOTSTRAPPING = "https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping.html"
# A second interface endpoint with private DNS for a service fails: "private-dns-enabled cannot be set
# because there is already a conflicting DNS domain for <service domain> in the VPC" (CreateVpcEndpoint).
INTERFACE_ENDPOINTS = "https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html"
# A route table holds one route per service prefix list: one S3 gateway endpoint per route table.
GATEWAY_ENDPOINTS = "https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html"
# "The VPC endpoint service ... does not support the Availability Zone of the subnet"; AZ names map
# to different physical zones per account (zone ids are the same everywhere).
ENDPOINT_ZONES = "https://repost.aws/knowledge-center/interface-endpoint-availability-zone"
DESCRIBE_ENDPOINT_SERVICES = (
    "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html"
)
# "For tags to appear on your billing reports, you must activate your applied tags"; up to 24 hours.
ACTIVATING_TAGS = "https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/activating-tags.html"
# "Only a management account in an organization and single accounts that aren't members of an
# organization have access to the cost allocation tags manager".
USER_DEFINED_TAGS = "https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/custom-tags.html"
# "Application Auto Scaling requires permissions to create a service-linked role the first time any
# user in your AWS account calls RegisterScalableTarget for a given service ... the user must have
# permissions for the iam:CreateServiceLinkedRole action."
SCALING_SERVICE_LINKED_ROLES = (
    "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html"
)
# {ServiceNamespace: (role name, service principal)}: services-that-can-integrate-sagemaker.html and
# services-that-can-integrate-ecs.html in the Application Auto Scaling user guide.
SERVICE_LINKED_ROLES = {
    "sagemaker": (
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        "sagemaker.application-autoscaling.amazonaws.com",
    ),
    "ecs": ("AWSServiceRoleForApplicationAutoScaling_ECSService", "ecs.application-autoscaling.amazonaws.com"),
}
# Endpoints in these states hold no private DNS name or route (DescribeVpcEndpoints State values).
_GONE = {"deleted", "rejected", "failed", "expired"}

_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[a-z0-9][a-z0-9._/-]*)"
    r"(?::(?P<tag>[\w.-]+)|@(?P<digest>sha256:[0-9a-f]{64}))$"
)


@dataclass(frozen=True)
class Finding:
    check: str  # account | image | weights | quota | lambda | bootstrap | update | endpoints | zones | tags | roles
    status: str  # ok | refuse | unverified | warn
    message: str


# --- What to check: read from the config and the synthesized assembly, no AWS call --------------


@dataclass(frozen=True)
class ImageRef:
    uri: str
    registry_id: str
    region: str
    repository: str
    tag: str | None
    digest: str | None
    used_by: tuple[str, ...]

    @property
    def image_id(self) -> dict[str, str]:
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag}

    def cli(self, profile: str | None = None) -> str:
        image = f"imageDigest={self.digest}" if self.digest else f"imageTag={self.tag}"
        return (
            f"aws ecr describe-images --registry-id {self.registry_id} --repository-name {self.repository} "
            f"--image-ids {image} --region {self.region}" + (f" --profile {profile}" if profile else "")
        )


@dataclass(frozen=True)
class WeightsRef:
    uri: str
    bucket: str
    prefix: str
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class QuotaNeed:
    instance_type: str
    peak: int
    detail: str

    @property
    def quota_name(self) -> str:
        # SageMaker names its per-instance-type hosting quotas "<type> for endpoint usage"
        # (service code `sagemaker`): SAGEMAKER_QUOTAS, and CreateEndpoint's ResourceLimitExceeded text.
        return f"{self.instance_type} for endpoint usage"


@dataclass(frozen=True)
class EndpointNeed:
    """One AWS::EC2::VPCEndpoint the kit's templates create."""

    service: str  # ServiceName, resolved for the env's region
    kind: str  # Interface | Gateway
    private_dns: bool
    route_tables: tuple[str, ...]  # Gateway: the literal route table ids (existing VPC)
    stack: str


@dataclass(frozen=True)
class Plan:
    environment: str
    account: str
    region: str
    images: tuple[ImageRef, ...]
    weights: tuple[WeightsRef, ...]
    quotas: tuple[QuotaNeed, ...]
    lambda_agent: bool
    reserved_concurrency: int | None
    bootstrap_version: int | None
    bootstrap_parameter: str
    stacks: tuple[StackArtifact, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    vpc_id: str | None = None  # network.mode: existing only
    endpoints: tuple[EndpointNeed, ...] = ()
    availability_zones: tuple[str, ...] = ()
    budget_tag_keys: tuple[str, ...] = ()  # the tag keys the budgets filter on
    budgets: tuple[str, ...] = ()
    scaling_namespaces: tuple[str, ...] = ()  # Application Auto Scaling namespaces with a service-linked role

    @property
    def interface_services(self) -> tuple[str, ...]:
        return tuple(sorted({need.service for need in self.endpoints if need.kind == "Interface"}))


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == kind
    }


def _model_users(template: dict) -> dict[str, list[str]]:
    """{model logical id: ["variant primary", ...]} from the endpoint configs' ProductionVariants and, on an
    endpoint that hosts inference components (variants without a model), from each component's Specification."""
    users: dict[str, list[str]] = {}
    for config in _of_type(template, "AWS::SageMaker::EndpointConfig").values():
        for variant in config.get("ProductionVariants") or []:
            model = referenced(variant.get("ModelName"))
            if model:
                users.setdefault(model, []).append(f"variant {variant.get('VariantName')}")
    for logical_id, component in _of_type(template, "AWS::SageMaker::InferenceComponent").items():
        model = referenced((component.get("Specification") or {}).get("ModelName"))
        if model:
            name = component.get("InferenceComponentName")
            users.setdefault(model, []).append(
                f"variant {component.get('VariantName')} component {name if isinstance(name, str) else logical_id}"
            )
    return users


def _resolve(value: object, region: str) -> str | None:
    """A ServiceName as text: CDK renders the S3 gateway's as Fn::Join with AWS::Region."""
    pseudo = {"AWS::Region": region, "AWS::URLSuffix": "amazonaws.com"}
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return pseudo.get(value["Ref"])
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        rendered = [_resolve(part, region) for part in parts]
        return None if any(part is None for part in rendered) else delimiter.join(rendered)
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        text = re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda m: pseudo.get(m.group(1), m.group(0)), value["Fn::Sub"])
        return None if "${" in text else text
    return None


def _filter_tag_keys(expression: object) -> list[str]:
    """Tag keys a budget's FilterExpression (And/Or/Not/Tags) filters on."""
    if isinstance(expression, list):
        return [key for item in expression for key in _filter_tag_keys(item)]
    if not isinstance(expression, dict):
        return []
    keys = (
        [expression["Tags"]["Key"]]
        if isinstance(expression.get("Tags"), dict) and isinstance(expression["Tags"].get("Key"), str)
        else []
    )
    for nested in ("And", "Or", "Not"):
        keys += _filter_tag_keys(expression.get(nested))
    return keys


def _bootstrap_requirement(assembly_dir: Path, environment: str) -> tuple[int | None, str]:
    """The highest `requiresBootstrapStackVersion` of the env's stacks and asset manifests."""
    manifest = assembly_dir / f"assembly-{environment}" / "manifest.json"
    if not manifest.is_file():
        return None, DEFAULT_BOOTSTRAP_PARAMETER
    required, parameter = None, DEFAULT_BOOTSTRAP_PARAMETER
    for artifact in json.loads(manifest.read_text(encoding="utf-8")).get("artifacts", {}).values():
        if artifact.get("type") not in ("aws:cloudformation:stack", "cdk:asset-manifest"):
            continue
        properties = artifact.get("properties", {})
        version = properties.get("requiresBootstrapStackVersion")
        if isinstance(version, (int, float)) and (required is None or version > required):
            required = int(version)
        parameter = properties.get("bootstrapStackVersionSsmParameter") or parameter
    return required, parameter


def plan(config, assembly_dir: Path) -> Plan:
    """What preflight checks for `config`'s environment, read from the synthesized assembly."""
    environment = config.name
    env_stacks = tuple(stacks(assembly_dir, environment))
    if not env_stacks:
        raise ValueError(f"no stacks of {environment!r} in the assembly {assembly_dir}")
    images: dict[str, list[str]] = {}
    weights: dict[str, list[str]] = {}
    notes: list[str] = []
    reserved: int | None = None
    endpoints: list[EndpointNeed] = []
    tag_keys: list[str] = []
    budgets: list[str] = []
    namespaces: set[str] = set()
    for stack in env_stacks:
        template = stack.template()
        for logical_id, endpoint in _of_type(template, "AWS::EC2::VPCEndpoint").items():
            service = _resolve(endpoint.get("ServiceName"), config.region)
            if service is None:
                notes.append(
                    f"{stack.stack_name} endpoint {logical_id}: the service name is not resolvable; not checked"
                )
                continue
            endpoints.append(
                EndpointNeed(
                    service,
                    endpoint.get("VpcEndpointType") or "Gateway",
                    endpoint.get("PrivateDnsEnabled") is True,
                    tuple(table for table in endpoint.get("RouteTableIds") or [] if isinstance(table, str)),
                    stack.stack_name,
                )
            )
        for budget in _of_type(template, "AWS::Budgets::Budget").values():
            data = budget.get("Budget") or {}
            keys = _filter_tag_keys(data.get("FilterExpression"))
            # Legacy CostFilters: TagKeyValue entries are "user:<key>$<value>".
            keys += [
                entry.split("$", 1)[0].removeprefix("user:")
                for entry in (data.get("CostFilters") or {}).get("TagKeyValue", [])
                if isinstance(entry, str)
            ]
            if keys:
                budgets.append(str(data.get("BudgetName", "?")))
                tag_keys += [key for key in keys if key not in tag_keys]
        for target in _of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget").values():
            if target.get("ServiceNamespace") in SERVICE_LINKED_ROLES:
                namespaces.add(target["ServiceNamespace"])
        users = _model_users(template)
        for logical_id, model in _of_type(template, "AWS::SageMaker::Model").items():
            who = [f"{stack.stack_name} {user}" for user in users.get(logical_id, [f"model {logical_id}"])]
            containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
            for container in containers:
                image = container.get("Image")
                if isinstance(image, str):
                    images.setdefault(image, []).extend(who)
                elif image is not None:
                    notes.append(f"{stack.stack_name} model {logical_id}: the image is not a literal URI; not checked")
                source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
                uri = source.get("S3Uri") or container.get("ModelDataUrl")
                if isinstance(uri, str) and uri.startswith("s3://"):
                    weights.setdefault(uri, []).extend(who)
        for function in _of_type(template, "AWS::Lambda::Function").values():
            value = function.get("ReservedConcurrentExecutions")
            if isinstance(value, int):
                reserved = (reserved or 0) + value

    image_refs = []
    for uri, used_by in images.items():
        match = _IMAGE.match(uri)
        if not match:
            notes.append(f"image {uri} is not an ECR URI; not checked")
            continue
        image_refs.append(
            ImageRef(
                uri,
                match["registry"],
                match["region"],
                match["repository"],
                match["tag"],
                match["digest"],
                tuple(used_by),
            )
        )
    weight_refs = []
    for uri, used_by in weights.items():
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        weight_refs.append(WeightsRef(uri, bucket, prefix, tuple(used_by)))

    per_type: dict[str, list[str]] = {}
    rolling = config.inference.deployment.strategy == "rolling"
    for variant in config.inference.variants:
        scale = variant.autoscaling.max_instances
        per_type.setdefault(variant.instance_type, []).append(
            # InferenceConfig.rollout_peak_instances: a component's rolling update adds one batch of copies.
            f"{variant.name}: max_instances {scale} + one batch of new copies"
            if rolling and variant.inference_component is not None
            else f"{variant.name}: 2 x max_instances {scale}"
        )
    quotas = tuple(
        QuotaNeed(instance_type, peak, ", ".join(per_type.get(instance_type, [])))
        for instance_type, peak in config.inference.rollout_peak_instances().items()
    )
    required, parameter = _bootstrap_requirement(assembly_dir, environment)
    return Plan(
        environment=environment,
        account=str(config.account),
        region=config.region,
        images=tuple(image_refs),
        weights=tuple(weight_refs),
        quotas=quotas,
        lambda_agent=config.agent.compute == "lambda",
        reserved_concurrency=reserved,
        bootstrap_version=required,
        bootstrap_parameter=parameter,
        stacks=env_stacks,
        notes=tuple(notes),
        vpc_id=getattr(config.network, "vpc_id", None) if config.network.mode == "existing" else None,
        endpoints=tuple(endpoints),
        availability_zones=tuple(config.availability_zones),
        budget_tag_keys=tuple(tag_keys),
        budgets=tuple(budgets),
        scaling_namespaces=tuple(sorted(namespaces)),
    )


def explain(the_plan: Plan, profile: str | None = None) -> str:
    p = the_plan
    profile_flag = f" --profile {profile}" if profile else ""
    lines = [
        f"Preflight for {p.environment} (account {p.account}, region {p.region}) checks, with the env's credentials:"
    ]
    lines.append(f"  account    the credentials belong to account {p.account} (sts get-caller-identity)")
    for image in p.images:
        lines.append(f"  image      {image.uri} exists [{'; '.join(image.used_by)}]: {image.cli(profile)}")
    for weights in p.weights:
        lines.append(
            f"  weights    {weights.uri} has objects and {weights.uri}config.json [{'; '.join(weights.used_by)}]"
        )
    for need in p.quotas:
        lines.append(
            f"  quota      '{need.quota_name}' (service code sagemaker, {p.region}) >= {need.peak}: "
            f"the blue/green peak ({need.detail})"
        )
    if p.lambda_agent:
        if p.reserved_concurrency:
            lines.append(
                f"  lambda     reserved concurrency {p.reserved_concurrency} leaves {LAMBDA_UNRESERVED_MINIMUM} unreserved: "
                f"account limit >= {p.reserved_concurrency + LAMBDA_UNRESERVED_MINIMUM} and enough unreserved (lambda get-account-settings)"
            )
        else:
            lines.append(
                "  lambda     no reserved concurrency; reports the account's concurrency limit (lambda get-account-settings)"
            )
    if p.bootstrap_version is not None:
        lines.append(
            f"  bootstrap  SSM {p.bootstrap_parameter} >= {p.bootstrap_version}; when missing: "
            f"cdk bootstrap aws://{p.account}/{p.region}{profile_flag}"
        )
    lines.append(
        "  update     no autoscaled (registered) variant changes instance type or is removed, no blue/green endpoint "
        "changes its variant names, and no endpoint switches between models on its variants and inference components, "
        f"against the deployed templates of {', '.join(s.stack_name for s in p.stacks)} "
        "(cloudformation get-template)"
    )
    if p.vpc_id:
        gateways = sorted({table for need in p.endpoints if need.kind == "Gateway" for table in need.route_tables})
        private = sorted({need.service for need in p.endpoints if need.kind == "Interface" and need.private_dns})
        lines.append(
            f"  endpoints  no endpoint in {p.vpc_id} collides with the kit's: an interface endpoint with private DNS for "
            f"{', '.join(private) or '(none)'}"
            + (f", or an S3 gateway endpoint on {', '.join(gateways)}" if gateways else "")
            + f" (ec2 describe-vpc-endpoints --filters Name=vpc-id,Values={p.vpc_id}{profile_flag})"
        )
    if p.interface_services:
        lines.append(
            f"  zones      {len(p.interface_services)} endpoint services are offered in {', '.join(p.availability_zones)} "
            f"(ec2 describe-vpc-endpoint-services --service-names {' '.join(p.interface_services)} --region {p.region}{profile_flag}); "
            "reports each AZ's zone id (ec2 describe-availability-zones): AZ names map to different physical zones per account"
        )
    if p.budget_tag_keys:
        lines.append(
            f"  tags       warns unless {', '.join(p.budget_tag_keys)} are active cost allocation tags (budget "
            f"{', '.join(p.budgets)} filters on them): aws ce list-cost-allocation-tags --tag-keys {' '.join(p.budget_tag_keys)} "
            f"--type UserDefined{profile_flag}"
        )
    for namespace in p.scaling_namespaces:
        role, principal = SERVICE_LINKED_ROLES[namespace]
        lines.append(
            f"  roles      warns unless {role} exists (else the first {namespace} scalable target needs "
            f"iam:CreateServiceLinkedRole for {principal}): aws iam get-role --role-name {role}{profile_flag}"
        )
    lines += [f"  note       {note}" for note in p.notes]
    return "\n".join(lines)


# --- The checks: each takes boto3 clients (tests stub them with botocore's Stubber) -------------


def _error(error: Exception) -> tuple[str, str]:
    response = getattr(error, "response", None) or {}
    details = response.get("Error", {})
    return str(details.get("Code", type(error).__name__)), str(details.get("Message", error))


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def check_account(sts, account: str) -> list[Finding]:
    try:
        actual = sts.get_caller_identity()["Account"]
    except _aws_errors() as error:
        code, message = _error(error)
        return [Finding("account", REFUSE, f"the credentials do not work: {code}: {message}")]
    if actual != account:
        return [
            Finding(
                "account",
                REFUSE,
                f"the credentials are for account {actual}, but config says account {account}; "
                "use the env's profile (deploy.profile) or fix `account`",
            )
        ]
    return [Finding("account", OK, f"credentials for account {account}")]


def check_images(
    ecr_for_region: Callable[[str], object],
    images: tuple[ImageRef, ...],
    *,
    environment: str,
    profile: str | None = None,
) -> list[Finding]:
    """Each image exists: ImageNotFound / RepositoryNotFound refuse; anything else is unverified."""
    findings = []
    for image in images:
        where = "; ".join(image.used_by)
        try:
            ecr_for_region(image.region).describe_images(
                registryId=image.registry_id, repositoryName=image.repository, imageIds=[image.image_id]
            )
        except _aws_errors() as error:
            code, message = _error(error)
            if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                fix = (
                    "the LMI version may not be published in this region: check inference.lmi_version"
                    if image.registry_id == "763104351884"
                    else "push it, or fix inference.image"
                )
                findings.append(
                    Finding(
                        "image",
                        REFUSE,
                        f"serving image {image.uri} ({where}) does not exist: {code} ({fix} in config/{environment}.yaml)",
                    )
                )
            else:
                # AWS's Deep Learning Containers registry (763104351884) is another account; an
                # operator's role may not be allowed DescribeImages there although SageMaker can pull.
                findings.append(
                    Finding(
                        "image",
                        UNVERIFIED,
                        f"could not verify serving image {image.uri} ({where}): {code}: {message}. "
                        f"Check with: {image.cli(profile)}",
                    )
                )
            continue
        findings.append(Finding("image", OK, f"serving image {image.uri} exists"))
    return findings


def check_weights(s3, weights: tuple[WeightsRef, ...]) -> list[Finding]:
    """Each weights prefix has objects and a config.json (LMI_ARTIFACTS: config.json is required)."""
    findings = []
    for ref in weights:
        where = "; ".join(ref.used_by)
        try:
            listing = s3.list_objects_v2(Bucket=ref.bucket, Prefix=ref.prefix, MaxKeys=1)
        except _aws_errors() as error:
            code, message = _error(error)
            if code == "NoSuchBucket":
                findings.append(
                    Finding(
                        "weights", REFUSE, f"model weights {ref.uri} ({where}): the bucket {ref.bucket} does not exist"
                    )
                )
            else:
                findings.append(
                    Finding(
                        "weights",
                        UNVERIFIED,
                        f"could not list model weights {ref.uri} ({where}): {code}: {message}. "
                        f"Check with: aws s3 ls {ref.uri}",
                    )
                )
            continue
        if not listing.get("KeyCount"):
            findings.append(
                Finding(
                    "weights",
                    REFUSE,
                    f"model weights {ref.uri} ({where}): no objects under the prefix; "
                    'stage them first (docs/deploy.md, "Stage the model weights")',
                )
            )
            continue
        config_key = f"{ref.prefix}config.json"
        try:
            s3.head_object(Bucket=ref.bucket, Key=config_key)
        except _aws_errors() as error:
            code, message = _error(error)
            if code in ("404", "NoSuchKey", "NotFound"):
                findings.append(
                    Finding(
                        "weights",
                        REFUSE,
                        f"model weights {ref.uri} ({where}): s3://{ref.bucket}/{config_key} is missing; LMI (vLLM) "
                        f"loads Hugging Face format weights and requires config.json ({LMI_ARTIFACTS})",
                    )
                )
            else:
                findings.append(
                    Finding("weights", UNVERIFIED, f"could not read s3://{ref.bucket}/{config_key}: {code}: {message}")
                )
            continue
        findings.append(Finding("weights", OK, f"model weights {ref.uri} has objects and config.json"))
    return findings


def _quota_values(service_quotas, operation: str) -> dict[str, dict]:
    paginator = service_quotas.get_paginator(operation)
    return {
        quota["QuotaName"]: quota
        for page in paginator.paginate(ServiceCode="sagemaker")
        for quota in page.get("Quotas", [])
    }


def check_quotas(service_quotas, needs: tuple[QuotaNeed, ...], *, region: str, environment: str) -> list[Finding]:
    """Each "<type> for endpoint usage" quota covers the blue/green peak (BLUE_GREEN: a second full fleet).

    Instances of the same type already running elsewhere in the account are not subtracted.
    """
    if not needs:
        return []
    try:
        applied = _quota_values(service_quotas, "list_service_quotas")
        # ListServiceQuotas leaves out quotas whose applied value is not available (LIST_SERVICE_QUOTAS):
        # fall back to the AWS default value for those.
        defaults = (
            _quota_values(service_quotas, "list_aws_default_service_quotas")
            if any(n.quota_name not in applied for n in needs)
            else {}
        )
    except _aws_errors() as error:
        code, message = _error(error)
        return [
            Finding(
                "quota",
                UNVERIFIED,
                f"could not read the SageMaker quotas: {code}: {message}. Check with: aws service-quotas list-service-quotas "
                f"--service-code sagemaker --region {region} --query \"Quotas[?QuotaName=='{need.quota_name}']\"",
            )
            for need in needs
        ]
    findings = []
    for need in needs:
        quota = applied.get(need.quota_name) or defaults.get(need.quota_name)
        if quota is None:
            findings.append(
                Finding(
                    "quota",
                    UNVERIFIED,
                    f"no SageMaker quota named '{need.quota_name}' in {region}; "
                    "check the Service Quotas console (is the instance type offered here?)",
                )
            )
            continue
        value, code = quota.get("Value", 0), quota.get("QuotaCode", "?")
        origin = "" if need.quota_name in applied else " (AWS default)"
        if value < need.peak:
            findings.append(
                Finding(
                    "quota",
                    REFUSE,
                    f"quota '{need.quota_name}' ({code}) is {value:g}{origin} in {region}, but a blue/green update of {environment} "
                    f"holds up to {need.peak} {need.instance_type} instances ({need.detail}; the green fleet is provisioned before "
                    f"the blue one is released, {BLUE_GREEN}). Request an increase: aws service-quotas request-service-quota-increase "
                    f"--service-code sagemaker --quota-code {code} --desired-value {need.peak} --region {region}, "
                    "or lower max_instances. Instances already running in the account are not subtracted.",
                )
            )
        else:
            findings.append(Finding("quota", OK, f"quota '{need.quota_name}' is {value:g}{origin} >= {need.peak}"))
    return findings


def check_lambda_concurrency(
    lambda_client, reserved: int | None, *, already_reserved: int = 0, environment: str
) -> list[Finding]:
    """A reservation must leave 100 unreserved (LAMBDA_CONCURRENCY); new accounts may have a limit of 10.

    `already_reserved`: what the deployed templates of this env reserve now; Lambda's
    UnreservedConcurrentExecutions excludes it, and a redeploy gives it back.
    """
    try:
        limits = lambda_client.get_account_settings()["AccountLimit"]
    except _aws_errors() as error:
        code, message = _error(error)
        return [
            Finding(
                "lambda",
                UNVERIFIED,
                f"could not read the Lambda account settings: {code}: {message}. "
                "Check with: aws lambda get-account-settings",
            )
        ]
    limit = limits.get("ConcurrentExecutions", 0)
    unreserved = limits.get("UnreservedConcurrentExecutions", limit)
    increase = (
        f"request an increase of Lambda 'Concurrent executions' ({LAMBDA_CONCURRENCY_QUOTA}): aws service-quotas "
        f"request-service-quota-increase --service-code lambda --quota-code {LAMBDA_CONCURRENCY_QUOTA} --desired-value "
        f"{(reserved or 0) + LAMBDA_UNRESERVED_MINIMUM}"
    )
    if not reserved:
        return [
            Finding(
                "lambda",
                OK,
                f"the agent reserves no concurrency; the account's Lambda limit is {limit} ({unreserved} unreserved)",
            )
        ]
    if reserved > limit - LAMBDA_UNRESERVED_MINIMUM:
        most = max(0, limit - LAMBDA_UNRESERVED_MINIMUM)
        return [
            Finding(
                "lambda",
                REFUSE,
                f"agent.reserved_concurrency is {reserved}, but the account's Lambda concurrency limit is {limit} and a reservation "
                f"must leave {LAMBDA_UNRESERVED_MINIMUM} unreserved, so at most {most} can be reserved ({LAMBDA_CONCURRENCY}). "
                f"Lower (or unset) agent.reserved_concurrency in config/{environment}.yaml, or {increase}",
            )
        ]
    available = unreserved + already_reserved - LAMBDA_UNRESERVED_MINIMUM
    if reserved > available:
        return [
            Finding(
                "lambda",
                REFUSE,
                f"agent.reserved_concurrency is {reserved}, but only {max(0, available)} can still be reserved: the account limit is "
                f"{limit}, other functions leave {unreserved + already_reserved} unreserved, and {LAMBDA_UNRESERVED_MINIMUM} must stay "
                f"unreserved ({LAMBDA_CONCURRENCY}). Lower agent.reserved_concurrency in config/{environment}.yaml, free other "
                f"reservations, or {increase}",
            )
        ]
    return [Finding("lambda", OK, f"reserved concurrency {reserved} fits (limit {limit}, {unreserved} unreserved)")]


def check_bootstrap(
    ssm, required: int | None, parameter: str, *, account: str, region: str, profile: str | None = None
) -> list[Finding]:
    """The bootstrap stack's version (SSM) is at least what the assembly requires (CDK_BOOTSTRAPPING)."""
    if required is None:
        return []
    command = f"cdk bootstrap aws://{account}/{region}" + (f" --profile {profile}" if profile else "")
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except _aws_errors() as error:
        code, message = _error(error)
        if code == "ParameterNotFound":
            return [
                Finding(
                    "bootstrap",
                    REFUSE,
                    f"aws://{account}/{region} is not bootstrapped (no SSM parameter {parameter}): "
                    f"run `{command}` (docs/deploy.md)",
                )
            ]
        return [
            Finding(
                "bootstrap",
                UNVERIFIED,
                f"could not read SSM {parameter}: {code}: {message}. "
                f"Check with: aws ssm get-parameter --name {parameter} --region {region}",
            )
        ]
    try:
        version = int(value)
    except ValueError:
        return [Finding("bootstrap", UNVERIFIED, f"SSM {parameter} holds {value!r}, not a version number")]
    if version < required:
        return [
            Finding(
                "bootstrap",
                REFUSE,
                f"the CDK bootstrap stack in aws://{account}/{region} is version {version}; the assembly "
                f"requires {required}: run `{command}` with this checkout's CLI (node_modules/.bin/cdk)",
            )
        ]
    return [Finding("bootstrap", OK, f"CDK bootstrap version {version} >= {required}")]


def deployed_templates(cloudformation, stack_names: list[str]) -> dict[str, dict | None]:
    """{stack name: its deployed template (as submitted), or None when the stack does not exist}."""
    from botocore.exceptions import ClientError

    result = {}
    for name in stack_names:
        try:
            body = cloudformation.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
        except ClientError as error:
            code, message = _error(error)
            if code == "ValidationError" and "does not exist" in message:
                result[name] = None
                continue
            raise
        result[name] = body if isinstance(body, dict) else json.loads(body)
    return result


def check_update_hazards(environment: str, new: dict[str, dict], deployed: dict[str, dict | None]) -> list[Finding]:
    findings = [
        Finding("update", REFUSE, hazard.message)
        for name, template in new.items()
        for hazard in find_hazards(deployed.get(name), template, environment=environment, stack=name)
    ]
    if not findings:
        existing = sum(1 for template in deployed.values() if template is not None)
        findings.append(Finding("update", OK, f"no endpoint update hazard ({existing} of {len(new)} stacks deployed)"))
    return findings


def _config_service(service: str, region: str) -> str | None:
    """The name `network.existing_endpoints.services` uses for an endpoint service, if it lists it."""
    from kit_config.schema import INTERFACE_ENDPOINT_SERVICES

    short = (
        "experiments"
        if service == f"aws.sagemaker.{region}.experiments"
        else service.removeprefix(f"com.amazonaws.{region}.")
    )
    return short if short in INTERFACE_ENDPOINT_SERVICES else None


def stack_endpoint_ids(cloudformation, stack_names: list[str]) -> set[str]:
    """The VPC endpoint ids the deployed stacks own (a redeploy finds the kit's own endpoints in the VPC)."""
    from botocore.exceptions import ClientError

    owned = set()
    for name in stack_names:
        try:
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
                owned |= {
                    resource["PhysicalResourceId"]
                    for resource in page.get("StackResourceSummaries", [])
                    if resource.get("ResourceType") == "AWS::EC2::VPCEndpoint" and resource.get("PhysicalResourceId")
                }
        except ClientError as error:
            code, message = _error(error)
            if code == "ValidationError" and "does not exist" in message:
                continue
            raise
    return owned


def check_endpoint_collisions(
    ec2, vpc_id: str, needs: tuple[EndpointNeed, ...], owned: set[str], *, region: str, environment: str
) -> list[Finding]:
    """No endpoint of the existing VPC collides with one the kit creates (INTERFACE_ENDPOINTS, GATEWAY_ENDPOINTS)."""
    config = f"config/{environment}.yaml"
    try:
        existing = [
            endpoint
            for page in ec2.get_paginator("describe_vpc_endpoints").paginate(
                Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
            )
            for endpoint in page.get("VpcEndpoints", [])
        ]
    except _aws_errors() as error:
        code, message = _error(error)
        return [
            Finding(
                "endpoints",
                UNVERIFIED,
                f"could not list the endpoints of {vpc_id}: {code}: {message}. Check with: "
                f"aws ec2 describe-vpc-endpoints --filters Name=vpc-id,Values={vpc_id} --region {region}",
            )
        ]
    private = {need.service for need in needs if need.kind == "Interface" and need.private_dns}
    gateways = {need.service: set(need.route_tables) for need in needs if need.kind == "Gateway"}
    findings = []
    for endpoint in existing:
        endpoint_id, service = endpoint.get("VpcEndpointId", "?"), endpoint.get("ServiceName", "")
        if endpoint_id in owned or str(endpoint.get("State", "")).lower() in _GONE:
            continue
        kind = endpoint.get("VpcEndpointType")
        if kind == "Interface" and endpoint.get("PrivateDnsEnabled") and service in private:
            groups = [group["GroupId"] for group in endpoint.get("Groups", []) if group.get("GroupId")]
            short = _config_service(service, region)
            fix = (
                f"reuse it: add `{short}` to network.existing_endpoints.services in {config} and its security group(s) "
                f"{', '.join(groups) or '(see the endpoint)'} to network.existing_endpoints.security_group_ids"
                if short
                else "remove it, or turn its private DNS off"
            )
            findings.append(
                Finding(
                    "endpoints",
                    REFUSE,
                    f"interface endpoint {endpoint_id} for {service} with private DNS already exists in {vpc_id}: the kit's own would "
                    f"fail to create (a second private DNS name for the service conflicts, {INTERFACE_ENDPOINTS}); {fix}",
                )
            )
        elif kind == "Gateway" and service in gateways and gateways[service] & set(endpoint.get("RouteTableIds", [])):
            shared = sorted(gateways[service] & set(endpoint.get("RouteTableIds", [])))
            findings.append(
                Finding(
                    "endpoints",
                    REFUSE,
                    f"gateway endpoint {endpoint_id} for {service} already routes {', '.join(shared)} in {vpc_id}: the kit's own "
                    f"would fail to add its route ({GATEWAY_ENDPOINTS}); set network.existing_endpoints.s3_gateway: true in {config}",
                )
            )
    if not findings:
        mine = sum(1 for endpoint in existing if endpoint.get("VpcEndpointId") in owned)
        findings.append(
            Finding(
                "endpoints",
                OK,
                f"no endpoint of {vpc_id} collides with the kit's ({len(existing)} listed, {mine} the kit's own)",
            )
        )
    return findings


def check_endpoint_zones(
    ec2, services: tuple[str, ...], zones: tuple[str, ...], *, region: str, environment: str
) -> list[Finding]:
    """Each interface endpoint service is offered in every configured AZ (ENDPOINT_ZONES, DESCRIBE_ENDPOINT_SERVICES)."""
    if not services or not zones:
        return []
    try:
        zone_ids = {
            zone["ZoneName"]: zone["ZoneId"]
            for zone in ec2.describe_availability_zones(ZoneNames=list(zones))["AvailabilityZones"]
        }
    except _aws_errors():
        zone_ids = {}  # only for the report

    def named(zone_list) -> str:
        return ", ".join(f"{zone} ({zone_ids[zone]})" if zone in zone_ids else zone for zone in zone_list)

    command = f"aws ec2 describe-vpc-endpoint-services --service-names {' '.join(services)} --region {region}"
    details, token = [], None
    try:
        while True:
            page = ec2.describe_vpc_endpoint_services(
                ServiceNames=list(services), **({"NextToken": token} if token else {})
            )
            details += page.get("ServiceDetails", [])
            token = page.get("NextToken")
            if not token:
                break
    except _aws_errors() as error:
        code, message = _error(error)
        if code == "InvalidServiceName":
            return [
                Finding(
                    "zones",
                    REFUSE,
                    f"an endpoint service the kit creates is not offered in {region}: {message} ({command})",
                )
            ]
        return [
            Finding(
                "zones", UNVERIFIED, f"could not read the endpoint services: {code}: {message}. Check with: {command}"
            )
        ]
    offered = {}
    for detail in details:
        if any(kind.get("ServiceType") == "Interface" for kind in detail.get("ServiceType", [])):
            offered.setdefault(detail.get("ServiceName"), set()).update(detail.get("AvailabilityZones", []))
    findings = []
    for service in services:
        if service not in offered:
            findings.append(
                Finding("zones", REFUSE, f"the endpoint service {service} is not offered in {region} ({command})")
            )
            continue
        missing = [zone for zone in zones if zone not in offered[service]]
        if missing:
            findings.append(
                Finding(
                    "zones",
                    REFUSE,
                    f'the endpoint service {service} is not offered in {named(missing)}: creating its interface endpoint fails ("does not '
                    f'support the Availability Zone of the subnet", {ENDPOINT_ZONES}). It is offered in {named(sorted(offered[service]))}; '
                    f"pick availability zones among those under network.availability_zones in config/{environment}.yaml",
                )
            )
    if not findings:
        findings.append(Finding("zones", OK, f"{len(services)} endpoint services are offered in {named(zones)}"))
    return findings


def check_cost_allocation_tags(
    ce, keys: tuple[str, ...], budgets: tuple[str, ...], *, environment: str
) -> list[Finding]:
    """The budget's tag keys are active cost allocation tags (ACTIVATING_TAGS).

    Warnings, not refusals: an inactive tag fails no deploy (the budget is created and works, it
    only counts $0 of this environment), and on a first deploy a key cannot be activated yet
    because billing lists it only after a resource carries it.
    """
    if not keys:
        return []
    command = f"aws ce list-cost-allocation-tags --tag-keys {' '.join(keys)} --type UserDefined"
    try:
        tags = {
            tag["TagKey"]: tag.get("Status")
            for page in ce.get_paginator("list_cost_allocation_tags").paginate(TagKeys=list(keys), Type="UserDefined")
            for tag in page.get("CostAllocationTags", [])
        }
    except _aws_errors() as error:
        code, message = _error(error)
        return [
            Finding(
                "tags",
                UNVERIFIED,
                f"could not read the cost allocation tags: {code}: {message}. In an AWS Organization only the management "
                f"account manages them ({USER_DEFINED_TAGS}); check there: {command}",
            )
        ]
    budget = ", ".join(budgets)
    activate = (
        "activate it in the management (payer) account, or in this account if it is standalone: aws ce "
        "update-cost-allocation-tags-status --cost-allocation-tags-status TagKey={key},Status=Active "
        f"(activation takes up to 24 hours, {ACTIVATING_TAGS})"
    )
    findings = []
    for key in keys:
        status = tags.get(key)
        if status == "Active":
            findings.append(Finding("tags", OK, f"cost allocation tag {key} is active"))
        elif status is None:
            findings.append(
                Finding(
                    "tags",
                    WARN,
                    f"cost allocation tag {key} is not known to billing yet (a key is listed up to 24 hours after a "
                    f"resource carries it): budget {budget} filters on it and counts $0 of {environment} until it "
                    f"is active; after this deploy, " + activate.format(key=key),
                )
            )
        else:
            findings.append(
                Finding(
                    "tags",
                    WARN,
                    f"cost allocation tag {key} is {status}: budget {budget} filters on it and counts $0 of "
                    f"{environment} until it is active; " + activate.format(key=key),
                )
            )
    return findings


def check_scaling_roles(iam, namespaces: tuple[str, ...], *, account: str) -> list[Finding]:
    """Application Auto Scaling's service-linked roles exist (SCALING_SERVICE_LINKED_ROLES).

    A warning when missing: the first RegisterScalableTarget creates the role, which works when the
    principal CloudFormation deploys with may call iam:CreateServiceLinkedRole (the default
    bootstrap execution policy, AdministratorAccess, may); preflight cannot see that policy.
    """
    findings = []
    for namespace in namespaces:
        role, principal = SERVICE_LINKED_ROLES[namespace]
        try:
            iam.get_role(RoleName=role)
        except _aws_errors() as error:
            code, message = _error(error)
            if code == "NoSuchEntity":
                findings.append(
                    Finding(
                        "roles",
                        WARN,
                        f"service-linked role {role} does not exist yet: the deploy's first {namespace} scalable target creates it, so "
                        "the principal CloudFormation deploys with (deploy.role_arn, else the bootstrap's cfn-exec role) needs "
                        f"iam:CreateServiceLinkedRole on arn:aws:iam::{account}:role/aws-service-role/{principal}/{role} "
                        f"(condition iam:AWSServiceName = {principal}); a restricted --cloudformation-execution-policies may lack it "
                        f"({SCALING_SERVICE_LINKED_ROLES}). Or create it once: aws iam create-service-linked-role --aws-service-name {principal}",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "roles",
                        UNVERIFIED,
                        f"could not read the role {role}: {code}: {message}. "
                        f"Check with: aws iam get-role --role-name {role}",
                    )
                )
            continue
        findings.append(Finding("roles", OK, f"service-linked role {role} exists"))
    return findings


def network_checks(session, the_plan: Plan) -> list[Finding]:
    """The endpoint collision (existing VPC) and endpoint zone checks."""
    p = the_plan
    ec2 = session.client("ec2", region_name=p.region)
    findings = []
    if p.vpc_id:
        try:
            owned = stack_endpoint_ids(
                session.client("cloudformation", region_name=p.region), sorted({need.stack for need in p.endpoints})
            )
        except _aws_errors() as error:
            code, message = _error(error)
            findings.append(
                Finding(
                    "endpoints",
                    UNVERIFIED,
                    f"could not list the kit's own endpoints (cloudformation list-stack-resources): {code}: {message}",
                )
            )
        else:
            findings += check_endpoint_collisions(
                ec2, p.vpc_id, p.endpoints, owned, region=p.region, environment=p.environment
            )
    findings += check_endpoint_zones(
        ec2, p.interface_services, p.availability_zones, region=p.region, environment=p.environment
    )
    return findings


def preflight(config, assembly_dir: Path, session, *, profile: str | None = None) -> list[Finding]:
    """Every check for `config`'s environment against the account `session` reaches."""
    the_plan = plan(config, assembly_dir)
    findings = check_account(session.client("sts"), the_plan.account)
    if findings[0].status != OK:
        return findings  # every other answer would come from the wrong account
    environment, region = the_plan.environment, the_plan.region
    findings += check_images(
        lambda image_region: session.client("ecr", region_name=image_region),
        the_plan.images,
        environment=environment,
        profile=profile,
    )
    findings += check_weights(session.client("s3"), the_plan.weights)
    findings += check_quotas(
        session.client("service-quotas", region_name=region), the_plan.quotas, region=region, environment=environment
    )
    new = {stack.stack_name: stack.template() for stack in the_plan.stacks}
    try:
        deployed = deployed_templates(session.client("cloudformation", region_name=region), list(new))
    except _aws_errors() as error:
        code, message = _error(error)
        deployed = None
        findings.append(Finding("update", UNVERIFIED, f"could not read the deployed templates: {code}: {message}"))
    if the_plan.lambda_agent:
        already = sum(
            properties.get("ReservedConcurrentExecutions", 0)
            for template in (deployed or {}).values()
            if template
            for properties in _of_type(template, "AWS::Lambda::Function").values()
            if isinstance(properties.get("ReservedConcurrentExecutions", 0), int)
        )
        findings += check_lambda_concurrency(
            session.client("lambda", region_name=region),
            the_plan.reserved_concurrency,
            already_reserved=already,
            environment=environment,
        )
    findings += check_bootstrap(
        session.client("ssm", region_name=region),
        the_plan.bootstrap_version,
        the_plan.bootstrap_parameter,
        account=the_plan.account,
        region=region,
        profile=profile,
    )
    if deployed is not None:
        findings += check_update_hazards(environment, new, deployed)
    findings += network_checks(session, the_plan)
    # Cost Explorer has one endpoint (ce.us-east-1.amazonaws.com), whatever the env's region.
    findings += check_cost_allocation_tags(
        session.client("ce", region_name="us-east-1"),
        the_plan.budget_tag_keys,
        the_plan.budgets,
        environment=environment,
    )
    findings += check_scaling_roles(session.client("iam"), the_plan.scaling_namespaces, account=the_plan.account)
    return findings


def report(findings: list[Finding]) -> str:
    label = {OK: "ok", REFUSE: "PROBLEM", UNVERIFIED: "unverified", WARN: "warning"}
    return "\n".join(f"  {label[f.status]:<10} {f.check:<9} {f.message}" for f in findings)


def refusal(findings: list[Finding], environment: str) -> str | None:
    """One message listing every problem (and what could not be verified), or None when none blocks."""
    problems = [f for f in findings if f.status == REFUSE]
    if not problems:
        return None
    unverified = [f for f in findings if f.status == UNVERIFIED]
    text = f"preflight found {len(problems)} problem(s) in {environment}'s account that would fail the deploy:\n"
    text += "\n".join(f"  - [{f.check}] {f.message}" for f in problems)
    if unverified:
        text += "\nAlso not verified (check by hand):\n" + "\n".join(f"  - [{f.check}] {f.message}" for f in unverified)
    warnings = [f for f in findings if f.status == WARN]
    if warnings:
        text += "\nWarnings (do not block):\n" + "\n".join(f"  - [{f.check}] {f.message}" for f in warnings)
    return text


def session_for(config, profile: str | None):
    import boto3

    return boto3.Session(profile_name=profile, region_name=config.region)


def _synth(project_dir: Path, environment: str, outdir: Path) -> None:
    command = toolchain.synth_command(outdir, [environment])
    print(f"$ {' '.join(command)}", file=sys.stderr)
    result = subprocess.run(command, cwd=project_dir, env=toolchain.cli_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr + result.stdout).strip().splitlines()[-30:])
        raise RuntimeError(f"synth or the governance gate failed:\n{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="", help="the one environment to check")
    parser.add_argument(
        "--assembly", type=Path, default=None, help="an assembly synthesized already (default: synthesize)"
    )
    parser.add_argument("--explain", action="store_true", help="print what would be checked; no AWS call")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from kit_config import ConfigError, load_environment

    environment = args.env.strip()
    project_dir = args.project_dir.resolve()
    try:
        if not environment or "," in environment:
            raise ConfigError("name exactly one environment: make preflight ENV=dev|staging|prod")
        config = load_environment(environment, toolchain.config_dir(project_dir))
        source = credential_source(config.deploy.profile)
        profile = config.deploy.profile if source == f"profile {config.deploy.profile}" else None
        assembly = args.assembly
        if assembly is None:
            assembly = project_dir / PREFLIGHT_OUT / environment
            _synth(project_dir, environment, assembly)
        the_plan = plan(config, assembly)
        if args.explain or source is None:
            print(explain(the_plan, profile or config.deploy.profile))
            if source is None:
                print(
                    "No AWS credentials: nothing was checked (configure the env's profile to run the checks).",
                    file=sys.stderr,
                )
            return 0
        print(f"Preflight for {environment} with {source}:", file=sys.stderr)
        findings = preflight(config, assembly, session_for(config, profile), profile=profile)
    except (ConfigError, RuntimeError, ValueError) as error:
        print(f"preflight failed: {error}", file=sys.stderr)
        return 1
    print(report(findings))
    message = refusal(findings, environment)
    if message:
        print(f"preflight refused: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
