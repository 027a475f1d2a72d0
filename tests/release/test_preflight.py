"""Preflight: each account-side check rejects the broken form and accepts the good one.

AWS answers come from botocore's Stubber on real boto3 clients (the request parameters are checked
against the service models, and so are the canned responses). The assembly is the committed
snapshot of the real synthesized stacks, laid out as `cdk synth` writes it.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kit_config import load_environment
from kit_config.project import PROJECT_DIR
from release import preflight
from release.preflight import REFUSE, UNVERIFIED, ImageRef, QuotaNeed, WeightsRef
from tests.kit_config.conftest import edit
from tests.release.assembly_fixture import write_assembly
from tests.release.aws_stubs import (
    DEV_STACKS,
    HEAD,
    LIST,
    PARAMETER,
    SAGEMAKER_SLR,
    StubbedAccount,
    answer,
    endpoint_services,
    interface_services,
    not_found,
    quota,
    role,
    zone_ids,
)
from tests.release.conftest import PYTHON, clean_environment, run

LMI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.38.0-lmi29.0.0-cu130"
WEIGHTS = "s3://governed-agents-dev-models/qwen2.5-7b-instruct/"


@pytest.fixture
def dev():
    return load_environment("dev")


@pytest.fixture
def dev_assembly(tmp_path):
    return write_assembly(tmp_path / "cdk.out", "dev")


# --- the plan: what will be checked, read from the assembly ---------------------------------------


def test_plan_reads_what_will_deploy(dev, dev_assembly):
    plan = preflight.plan(dev, dev_assembly)
    [image] = plan.images
    assert (image.uri, image.registry_id, image.repository, image.tag, image.digest) == (
        LMI,
        "763104351884",
        "djl-inference",
        "0.38.0-lmi29.0.0-cu130",
        None,
    )
    # Dev's model is hosted by an inference component: its users are read from the component.
    assert image.used_by == ("dev-Inference variant primary component governed-agents-dev-llm-primary",)
    [weights] = plan.weights
    assert (weights.uri, weights.bucket, weights.prefix) == (
        WEIGHTS,
        "governed-agents-dev-models",
        "qwen2.5-7b-instruct/",
    )
    # Dev's component updates all_at_once, SageMaker's blue/green of every copy: both fleets of its
    # primary, scaled out to 2 instances (one copy each), are held at once, so an update can hold 4.
    assert plan.quotas == (QuotaNeed("ml.g6.xlarge", 4, "primary: 2 x max_instances 2"),)
    assert {need.instance_type: need.peak for need in plan.quotas} == dev.inference.rollout_peak_instances()
    assert plan.quotas[0].quota_name == "ml.g6.xlarge for endpoint usage"
    assert plan.lambda_agent and plan.reserved_concurrency is None  # dev reserves none (new accounts: quota 10)
    assert (plan.bootstrap_version, plan.bootstrap_parameter) == (6, "/cdk-bootstrap/hnb659fds/version")
    assert [s.stack_name for s in plan.stacks] == DEV_STACKS


def test_plan_names_the_rolling_peak_of_a_component(tmp_path, dev_assembly):
    # A component's rolling update holds its fleet plus one batch of new copies, not two fleets.
    config_dir = tmp_path / "config"
    shutil.copytree(PROJECT_DIR / "config", config_dir)

    def rolling(section):
        [variant] = section["variants"]
        variant["inference_component"].update(min_copies=2, initial_copies=2, max_copies=4)
        variant.update(initial_instance_count=2)
        variant["autoscaling"].update(min_instances=2, max_instances=4)
        section["deployment"].update(strategy="rolling", component_batch_copies=1)
        section["max_instances_cap"] = 5

    edit(config_dir, "dev", rolling, section="inference")
    config = load_environment("dev", config_dir)
    [need] = preflight.plan(config, dev_assembly).quotas
    assert need == QuotaNeed("ml.g6.xlarge", 5, "primary: max_instances 4 + one batch of new copies")
    assert {need.instance_type: need.peak} == config.inference.rollout_peak_instances()


def test_plan_of_staging_dedupes_the_shared_image_and_adds_up_both_variants(tmp_path):
    staging = load_environment("staging")
    plan = preflight.plan(staging, write_assembly(tmp_path / "out", "staging"))
    [image] = plan.images
    assert sorted(image.used_by) == ["staging-Inference variant challenger", "staging-Inference variant primary"]
    peaks = {need.instance_type: need.peak for need in plan.quotas}
    assert peaks == staging.inference.rollout_peak_instances()
    assert sum(2 * v.autoscaling.max_instances for v in staging.inference.variants) == peaks["ml.g5.2xlarge"]
    assert not plan.lambda_agent  # staging's agent runs on Fargate


def test_explain_prints_the_concrete_checks(dev, dev_assembly):
    text = preflight.explain(preflight.plan(dev, dev_assembly), "governed-agents-dev")
    assert text.startswith("Preflight for dev (account 111111111111, region us-east-1)")
    assert f"image      {LMI} exists" in text
    assert (
        "aws ecr describe-images --registry-id 763104351884 --repository-name djl-inference "
        "--image-ids imageTag=0.38.0-lmi29.0.0-cu130 --region us-east-1 --profile governed-agents-dev"
    ) in text
    assert f"weights    {WEIGHTS} has objects and {WEIGHTS}config.json" in text
    assert "'ml.g6.xlarge for endpoint usage' (service code sagemaker, us-east-1) >= 4" in text
    assert "lambda     no reserved concurrency; reports the account's concurrency limit" in text
    assert (
        "SSM /cdk-bootstrap/hnb659fds/version >= 6; when missing: cdk bootstrap aws://111111111111/us-east-1 --profile governed-agents-dev"
        in text
    )
    [update] = [line for line in text.splitlines() if line.startswith("  update")]
    assert "dev-Inference" in update and "no blue/green endpoint changes its variant names" in update
    assert "no endpoint switches between models on its variants and inference components" in update
    # dev creates its VPC: no collision check, but its endpoint services must be offered in its AZs.
    assert "  endpoints" not in text
    assert (
        "zones      9 endpoint services are offered in us-east-1a, us-east-1b (ec2 describe-vpc-endpoint-services "
        f"--service-names {' '.join(interface_services('us-east-1'))} --region us-east-1 --profile governed-agents-dev)"
    ) in text
    assert "reports each AZ's zone id (ec2 describe-availability-zones)" in text
    assert (
        "tags       warns unless Project, Environment are active cost allocation tags (budget governed-agents-dev-monthly "
        "filters on them): aws ce list-cost-allocation-tags --tag-keys Project Environment --type UserDefined"
    ) in text
    assert (
        "roles      warns unless AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint exists (else the first sagemaker "
        "scalable target needs iam:CreateServiceLinkedRole for sagemaker.application-autoscaling.amazonaws.com)"
    ) in text
    assert "ECSService" not in text  # dev's agent runs on Lambda


def test_explain_of_prod_lists_the_endpoint_collision_check(tmp_path):
    prod = load_environment("prod")
    plan = preflight.plan(prod, write_assembly(tmp_path / "out", "prod"))
    assert plan.vpc_id == "vpc-0a1b2c3d4e5f60718"
    [gateway] = [need for need in plan.endpoints if need.kind == "Gateway"]
    # CDK renders the S3 gateway's service name as Fn::Join with AWS::Region: resolved with prod's region.
    assert gateway.service == "com.amazonaws.us-west-2.s3"
    assert gateway.route_tables == ("rtb-0f1e2d3c4b5a69781", "rtb-0f1e2d3c4b5a69782", "rtb-0f1e2d3c4b5a69783")
    assert plan.interface_services == tuple(interface_services("us-west-2"))
    assert plan.scaling_namespaces == ("ecs", "sagemaker")
    text = preflight.explain(plan)
    assert (
        "endpoints  no endpoint in vpc-0a1b2c3d4e5f60718 collides with the kit's: an interface endpoint with private DNS for "
        f"{', '.join(interface_services('us-west-2'))}, or an S3 gateway endpoint on rtb-0f1e2d3c4b5a69781, "
        "rtb-0f1e2d3c4b5a69782, rtb-0f1e2d3c4b5a69783 (ec2 describe-vpc-endpoints --filters Name=vpc-id,Values=vpc-0a1b2c3d4e5f60718)"
    ) in text
    assert "us-west-2a, us-west-2b, us-west-2c" in text
    assert "AWSServiceRoleForApplicationAutoScaling_ECSService" in text


def test_cli_without_credentials_explains_and_exits_0(dev_assembly, empty_home):
    result = run(
        [PYTHON, "-m", "release.preflight", "--env", "dev", "--assembly", str(dev_assembly)],
        PROJECT_DIR,
        clean_environment(empty_home),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Preflight for dev (account 111111111111, region us-east-1) checks" in result.stdout
    assert "--profile governed-agents-dev" in result.stdout  # the profile the operator is to configure
    assert "No AWS credentials: nothing was checked" in result.stderr


def test_cli_needs_one_environment(empty_home):
    result = run(
        [PYTHON, "-m", "release.preflight", "--env", "dev,prod"], PROJECT_DIR, clean_environment(empty_home), timeout=60
    )
    assert result.returncode == 1 and "name exactly one environment" in result.stderr


def test_make_preflight_target_exists():
    listed = subprocess.run(["make", "-s", "help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    assert "make preflight" in listed


# --- image ------------------------------------------------------------------------------------------


def image(uri: str = LMI) -> ImageRef:
    match = preflight._IMAGE.match(uri)
    return ImageRef(
        uri,
        match["registry"],
        match["region"],
        match["repository"],
        match["tag"],
        match["digest"],
        ("dev-Inference variant primary",),
    )


@pytest.mark.parametrize("code", ["ImageNotFoundException", "RepositoryNotFoundException"])
def test_a_missing_image_is_refused(code):
    account = StubbedAccount()
    not_found(
        account.stub("ecr"),
        "describe_images",
        code,
        params={
            "registryId": "763104351884",
            "repositoryName": "djl-inference",
            "imageIds": [{"imageTag": "0.38.0-lmi29.0.0-cu130"}],
        },
    )
    [finding] = preflight.check_images(lambda region: account.client("ecr", region), (image(),), environment="dev")
    assert finding.status == REFUSE
    assert f"serving image {LMI} (dev-Inference variant primary) does not exist: {code}" in finding.message
    assert "inference.lmi_version" in finding.message and "config/dev.yaml" in finding.message


def test_access_denied_on_the_aws_registry_is_unverified_with_the_command():
    account = StubbedAccount()
    not_found(
        account.stub("ecr"),
        "describe_images",
        "AccessDeniedException",
        message="not authorized to perform ecr:DescribeImages",
    )
    [finding] = preflight.check_images(
        lambda region: account.client("ecr", region), (image(),), environment="dev", profile="p"
    )
    assert finding.status == UNVERIFIED
    assert "could not verify" in finding.message and "AccessDeniedException" in finding.message
    assert (
        "Check with: aws ecr describe-images --registry-id 763104351884" in finding.message
        and "--profile p" in finding.message
    )


def test_an_existing_image_by_digest_passes():
    digest = "sha256:" + "ab" * 32
    uri = f"222222222222.dkr.ecr.eu-west-1.amazonaws.com/team/serving@{digest}"
    account = StubbedAccount()
    account.stub("ecr", "eu-west-1").add_response(
        "describe_images",
        {"imageDetails": [{"registryId": "222222222222", "repositoryName": "team/serving", "imageDigest": digest}]},
        {"registryId": "222222222222", "repositoryName": "team/serving", "imageIds": [{"imageDigest": digest}]},
    )
    [finding] = preflight.check_images(lambda region: account.client("ecr", region), (image(uri),), environment="dev")
    assert finding.status == "ok"
    account.assert_all_answered()  # the client of the image's own region was asked


# --- weights ----------------------------------------------------------------------------------------

REF = WeightsRef(WEIGHTS, "governed-agents-dev-models", "qwen2.5-7b-instruct/", ("dev-Inference variant primary",))


def test_an_empty_weights_prefix_is_refused():
    account = StubbedAccount()
    account.stub("s3").add_response("list_objects_v2", {"KeyCount": 0, "Name": "governed-agents-dev-models"}, LIST)
    [finding] = preflight.check_weights(account.client("s3"), (REF,))
    assert (
        finding.status == REFUSE
        and f"model weights {WEIGHTS} (dev-Inference variant primary): no objects" in finding.message
    )


def test_a_missing_bucket_is_refused():
    account = StubbedAccount()
    not_found(account.stub("s3"), "list_objects_v2", "NoSuchBucket", 404)
    [finding] = preflight.check_weights(account.client("s3"), (REF,))
    assert finding.status == REFUSE and "the bucket governed-agents-dev-models does not exist" in finding.message


def test_weights_without_config_json_are_refused():
    account = StubbedAccount()
    s3 = account.stub("s3")
    s3.add_response(
        "list_objects_v2", {"KeyCount": 1, "Contents": [{"Key": "qwen2.5-7b-instruct/model.safetensors"}]}, LIST
    )
    not_found(s3, "head_object", "404", 404, params=HEAD)
    [finding] = preflight.check_weights(account.client("s3"), (REF,))
    assert finding.status == REFUSE and f"{WEIGHTS}config.json is missing" in finding.message
    assert preflight.LMI_ARTIFACTS in finding.message


def test_staged_weights_pass():
    account = StubbedAccount()
    s3 = account.stub("s3")
    s3.add_response("list_objects_v2", {"KeyCount": 1, "Contents": [{"Key": "qwen2.5-7b-instruct/config.json"}]}, LIST)
    s3.add_response("head_object", {"ContentLength": 663}, HEAD)
    assert [f.status for f in preflight.check_weights(account.client("s3"), (REF,))] == ["ok"]
    account.assert_all_answered()


# --- quotas -----------------------------------------------------------------------------------------

NEED = QuotaNeed("ml.g6.xlarge", 4, "primary: 2 x max_instances 2")


def test_a_quota_that_holds_the_fleet_but_not_the_blue_green_peak_is_refused():
    # 3 instances cover max_instances 2 in steady state, not the second fleet of an update.
    account = StubbedAccount()
    account.stub("service-quotas").add_response(
        "list_service_quotas",
        {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 3.0, "L-G6XLARGE")]},
        {"ServiceCode": "sagemaker"},
    )
    [finding] = preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")
    assert finding.status == REFUSE
    message = finding.message
    assert "quota 'ml.g6.xlarge for endpoint usage' (L-G6XLARGE) is 3 in us-east-1" in message
    assert "holds up to 4 ml.g6.xlarge instances (primary: 2 x max_instances 2" in message
    assert (
        "aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-G6XLARGE "
        "--desired-value 4 --region us-east-1"
    ) in message
    assert "not subtracted" in message


def test_a_quota_on_a_later_page_that_covers_the_peak_passes():
    account = StubbedAccount()
    stub = account.stub("service-quotas")
    stub.add_response(
        "list_service_quotas",
        {"Quotas": [quota("ml.g5.xlarge for endpoint usage", 0.0)], "NextToken": "page2"},
        {"ServiceCode": "sagemaker"},
    )
    stub.add_response(
        "list_service_quotas",
        {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 4.0)]},
        {"ServiceCode": "sagemaker", "NextToken": "page2"},
    )
    assert [
        f.status
        for f in preflight.check_quotas(
            account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev"
        )
    ] == ["ok"]
    account.assert_all_answered()


def test_a_quota_without_an_applied_value_falls_back_to_the_default():
    account = StubbedAccount()
    stub = account.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    stub.add_response(
        "list_aws_default_service_quotas",
        {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 0.0)]},
        {"ServiceCode": "sagemaker"},
    )
    [finding] = preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")
    assert finding.status == REFUSE and "is 0 (AWS default) in us-east-1" in finding.message


def test_an_unknown_quota_name_is_unverified_not_passed():
    account = StubbedAccount()
    stub = account.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    stub.add_response("list_aws_default_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    [finding] = preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")
    assert (
        finding.status == UNVERIFIED and "no SageMaker quota named 'ml.g6.xlarge for endpoint usage'" in finding.message
    )


# --- Lambda concurrency -----------------------------------------------------------------------------


def lambda_limits(account: StubbedAccount, limit: int, unreserved: int):
    account.stub("lambda").add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": unreserved}},
        {},
    )
    return account.client("lambda")


def test_a_new_account_limit_of_10_refuses_any_reservation():
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 10, 10), 20, environment="dev")
    assert finding.status == REFUSE
    assert "agent.reserved_concurrency is 20, but the account's Lambda concurrency limit is 10" in finding.message
    assert "so at most 0 can be reserved" in finding.message
    assert "--service-code lambda --quota-code L-B99A9384 --desired-value 120" in finding.message


def test_a_reservation_above_limit_minus_100_can_never_fit():
    # 20 < 110, but 110 - 100 unreserved leaves 10 at most, whatever other functions do.
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 110, 110), 20, environment="dev")
    assert (
        finding.status == REFUSE
        and "limit is 110" in finding.message
        and "so at most 10 can be reserved" in finding.message
    )


def test_other_functions_reservations_leave_too_little():
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 1000, 110), 20, environment="dev")
    assert finding.status == REFUSE and "only 10 can still be reserved" in finding.message


def test_a_redeploy_counts_its_own_reservation_back():
    # Same account as above, but 20 of the 890 reserved are this agent's own (already deployed).
    [finding] = preflight.check_lambda_concurrency(
        lambda_limits(StubbedAccount(), 1000, 110), 20, already_reserved=20, environment="dev"
    )
    assert finding.status == "ok"


def test_a_default_account_fits_and_no_reservation_only_reports():
    assert (
        preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 1000, 1000), 20, environment="dev")[0].status
        == "ok"
    )
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 10, 10), None, environment="dev")
    assert finding.status == "ok" and "the account's Lambda limit is 10" in finding.message


# --- CDK bootstrap ----------------------------------------------------------------------------------


def bootstrap(version: str | None, required: int = 6):
    account = StubbedAccount()
    if version is None:
        not_found(account.stub("ssm"), "get_parameter", "ParameterNotFound", params={"Name": PARAMETER})
    else:
        account.stub("ssm").add_response(
            "get_parameter", {"Parameter": {"Name": PARAMETER, "Value": version, "Type": "String"}}, {"Name": PARAMETER}
        )
    return preflight.check_bootstrap(
        account.client("ssm"),
        required,
        PARAMETER,
        account="111111111111",
        region="us-east-1",
        profile="governed-agents-dev",
    )


def test_an_unbootstrapped_account_is_refused_with_the_command():
    [finding] = bootstrap(None)
    assert finding.status == REFUSE
    assert "aws://111111111111/us-east-1 is not bootstrapped" in finding.message
    assert "`cdk bootstrap aws://111111111111/us-east-1 --profile governed-agents-dev`" in finding.message


def test_an_old_bootstrap_is_refused_and_a_current_one_passes():
    [old] = bootstrap("5")
    assert old.status == REFUSE and "is version 5; the assembly requires 6" in old.message
    assert bootstrap("6")[0].status == "ok" and bootstrap("30")[0].status == "ok"


# --- deployed templates and update hazards ----------------------------------------------------------


def test_deployed_templates_treat_a_missing_stack_as_a_first_deploy():
    account = StubbedAccount()
    stub = account.stub("cloudformation")
    not_found(
        stub,
        "get_template",
        "ValidationError",
        message="Stack with id dev-Network does not exist",
        params={"StackName": "dev-Network", "TemplateStage": "Original"},
    )
    stub.add_response(
        "get_template", {"TemplateBody": '{"Resources": {}}'}, {"StackName": "dev-Agent", "TemplateStage": "Original"}
    )
    assert preflight.deployed_templates(account.client("cloudformation"), ["dev-Network", "dev-Agent"]) == {
        "dev-Network": None,
        "dev-Agent": {"Resources": {}},
    }


# --- VPC endpoints that would collide (existing VPC) -------------------------------------------------

PROD_VPC = "vpc-0a1b2c3d4e5f60718"
PROD_TABLES = ("rtb-0f1e2d3c4b5a69781", "rtb-0f1e2d3c4b5a69782", "rtb-0f1e2d3c4b5a69783")
PROD_NEEDS = tuple(
    [
        preflight.EndpointNeed(service, "Interface", True, (), "prod-Network")
        for service in interface_services("us-west-2")
    ]
    + [preflight.EndpointNeed("com.amazonaws.us-west-2.s3", "Gateway", False, PROD_TABLES, "prod-Network")]
)
VPC_FILTER = {"Filters": [{"Name": "vpc-id", "Values": [PROD_VPC]}]}


def vpc_endpoint(
    endpoint_id: str, service: str, kind: str = "Interface", *, private_dns: bool = True, tables=(), state="available"
) -> dict:
    return {
        "VpcEndpointId": endpoint_id,
        "VpcEndpointType": kind,
        "VpcId": PROD_VPC,
        "ServiceName": service,
        "State": state,
        "PrivateDnsEnabled": private_dns,
        "RouteTableIds": list(tables),
        "Groups": [{"GroupId": "sg-0123456789abcdef0", "GroupName": "shared"}],
    }


def collisions(*endpoints, owned=frozenset()):
    account = StubbedAccount("us-west-2")
    account.stub("ec2").add_response("describe_vpc_endpoints", {"VpcEndpoints": list(endpoints)}, VPC_FILTER)
    findings = preflight.check_endpoint_collisions(
        account.client("ec2"), PROD_VPC, PROD_NEEDS, set(owned), region="us-west-2", environment="prod"
    )
    account.assert_all_answered()
    return findings


def test_an_existing_interface_endpoint_with_private_dns_is_refused_with_the_config_fix():
    [finding] = collisions(vpc_endpoint("vpce-0aaa", "com.amazonaws.us-west-2.sts"))
    assert finding.status == REFUSE
    message = finding.message
    assert (
        "interface endpoint vpce-0aaa for com.amazonaws.us-west-2.sts with private DNS already exists in vpc-0a1b2c3d4e5f60718"
        in message
    )
    assert (
        "add `sts` to network.existing_endpoints.services in config/prod.yaml and its security group(s) sg-0123456789abcdef0 "
        "to network.existing_endpoints.security_group_ids"
    ) in message
    assert preflight.INTERFACE_ENDPOINTS in message


def test_the_mlflow_endpoint_is_named_as_the_config_names_it():
    [finding] = collisions(vpc_endpoint("vpce-0bbb", "aws.sagemaker.us-west-2.experiments"))
    assert finding.status == REFUSE and "add `experiments` to network.existing_endpoints.services" in finding.message


def test_an_s3_gateway_endpoint_on_the_kits_route_tables_is_refused():
    [finding] = collisions(
        vpc_endpoint(
            "vpce-0ccc",
            "com.amazonaws.us-west-2.s3",
            "Gateway",
            private_dns=False,
            tables=("rtb-0f1e2d3c4b5a69782", "rtb-0ffffffffffffffff"),
        )
    )
    assert finding.status == REFUSE
    assert (
        "gateway endpoint vpce-0ccc for com.amazonaws.us-west-2.s3 already routes rtb-0f1e2d3c4b5a69782"
        in finding.message
    )
    assert "set network.existing_endpoints.s3_gateway: true in config/prod.yaml" in finding.message


def test_every_collision_is_listed_not_only_the_first():
    findings = collisions(
        vpc_endpoint("vpce-0aaa", "com.amazonaws.us-west-2.sts"),
        vpc_endpoint("vpce-0ddd", "com.amazonaws.us-west-2.kms"),
    )
    assert [(f.status, f.message.split()[2]) for f in findings] == [(REFUSE, "vpce-0aaa"), (REFUSE, "vpce-0ddd")]


def test_endpoints_that_cannot_collide_pass():
    findings = collisions(
        vpc_endpoint("vpce-0eee", "com.amazonaws.us-west-2.sts"),
        vpc_endpoint("vpce-0fff", "com.amazonaws.us-west-2.kms", private_dns=False),  # no private DNS name
        vpc_endpoint("vpce-0111", "com.amazonaws.us-west-2.ssm"),  # a service the kit does not create
        vpc_endpoint(
            "vpce-0222", "com.amazonaws.us-west-2.s3", "Gateway", private_dns=False, tables=("rtb-0ffffffffffffffff",)
        ),
        vpc_endpoint("vpce-0333", "com.amazonaws.us-west-2.logs", state="deleted"),
        owned={"vpce-0eee"},  # the kit's own, from a deploy before
    )
    assert [f.status for f in findings] == ["ok"], findings
    assert "(5 listed, 1 the kit's own)" in findings[0].message


def test_the_kits_own_endpoints_are_read_from_the_deployed_network_stack():
    account = StubbedAccount("us-west-2")
    cloudformation = account.stub("cloudformation", "us-west-2")
    cloudformation.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "NetworkStsEndpoint2EB8C701",
                    "PhysicalResourceId": "vpce-0eee",
                    "ResourceType": "AWS::EC2::VPCEndpoint",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                },
                {
                    "LogicalResourceId": "NetworkVpc",
                    "PhysicalResourceId": PROD_VPC,
                    "ResourceType": "AWS::EC2::VPC",
                    "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                },
            ]
        },
        {"StackName": "prod-Network"},
    )
    not_found(
        cloudformation,
        "list_stack_resources",
        "ValidationError",
        message="Stack with id prod-Extra does not exist",
        params={"StackName": "prod-Extra"},
    )
    assert preflight.stack_endpoint_ids(
        account.client("cloudformation", "us-west-2"), ["prod-Network", "prod-Extra"]
    ) == {"vpce-0eee"}


def test_prod_runs_the_collision_check_on_its_vpc(tmp_path):
    prod = load_environment("prod")
    plan = preflight.plan(prod, write_assembly(tmp_path / "out", "prod"))
    account = StubbedAccount("us-west-2")
    not_found(
        account.stub("cloudformation", "us-west-2"),
        "list_stack_resources",
        "ValidationError",
        message="Stack with id prod-Network does not exist",
        params={"StackName": "prod-Network"},
    )
    zones, services = ["us-west-2a", "us-west-2b", "us-west-2c"], interface_services("us-west-2")
    ec2 = account.stub("ec2", "us-west-2")
    ec2.add_response(
        "describe_vpc_endpoints",
        {"VpcEndpoints": [vpc_endpoint("vpce-0aaa", "com.amazonaws.us-west-2.ecr.dkr")]},
        VPC_FILTER,
    )
    ec2.add_response("describe_availability_zones", zone_ids(zones), {"ZoneNames": zones})
    ec2.add_response("describe_vpc_endpoint_services", endpoint_services(services, zones), {"ServiceNames": services})
    findings = preflight.network_checks(account, plan)
    account.assert_all_answered()
    assert [(f.check, f.status) for f in findings] == [("endpoints", REFUSE), ("zones", "ok")]
    assert "add `ecr.dkr` to network.existing_endpoints.services in config/prod.yaml" in findings[0].message


# --- endpoint services in the configured AZs --------------------------------------------------------

ZONES = ("us-east-1a", "us-east-1b")
SERVICES = ("aws.sagemaker.us-east-1.experiments", "com.amazonaws.us-east-1.sts")


def zones_check(answer_services, zone_answer=None):
    account = StubbedAccount()
    ec2 = account.stub("ec2")
    if zone_answer is None:
        ec2.add_response("describe_availability_zones", zone_ids(list(ZONES)), {"ZoneNames": list(ZONES)})
    else:
        zone_answer(ec2)
    answer_services(ec2)
    findings = preflight.check_endpoint_zones(
        account.client("ec2"), SERVICES, ZONES, region="us-east-1", environment="dev"
    )
    account.assert_all_answered()
    return findings


def test_a_service_missing_in_a_configured_zone_is_refused_with_the_zone_ids():
    [finding] = zones_check(
        lambda ec2: ec2.add_response(
            "describe_vpc_endpoint_services",
            endpoint_services(list(SERVICES), list(ZONES) + ["us-east-1c"], except_zone={SERVICES[0]: "us-east-1b"}),
            {"ServiceNames": list(SERVICES)},
        )
    )
    assert finding.status == REFUSE
    message = finding.message
    assert "the endpoint service aws.sagemaker.us-east-1.experiments is not offered in us-east-1b (use1-az5)" in message
    assert "It is offered in us-east-1a (use1-az4), us-east-1c" in message
    assert "network.availability_zones in config/dev.yaml" in message and preflight.ENDPOINT_ZONES in message


def test_a_service_the_region_does_not_offer_is_refused():
    findings = zones_check(
        lambda ec2: not_found(
            ec2,
            "describe_vpc_endpoint_services",
            "InvalidServiceName",
            message="The Vpc Endpoint Service 'aws.sagemaker.us-east-1.experiments' does not exist",
            params={"ServiceNames": list(SERVICES)},
        )
    )
    assert [f.status for f in findings] == [REFUSE] and "does not exist" in findings[0].message


def test_only_the_interface_offering_counts():
    # S3-style answers list a Gateway and an Interface entry under one name; a gateway-only answer is no interface offering.
    def services(ec2):
        details = endpoint_services(list(SERVICES), list(ZONES))
        details["ServiceDetails"][1]["ServiceType"] = [{"ServiceType": "Gateway"}]
        ec2.add_response("describe_vpc_endpoint_services", details, {"ServiceNames": list(SERVICES)})

    [finding] = zones_check(services)
    assert finding.status == REFUSE and "com.amazonaws.us-east-1.sts is not offered in us-east-1" in finding.message


def test_services_in_every_zone_pass_even_without_zone_ids():
    findings = zones_check(
        lambda ec2: ec2.add_response(
            "describe_vpc_endpoint_services",
            endpoint_services(list(SERVICES), list(ZONES)),
            {"ServiceNames": list(SERVICES)},
        ),
        zone_answer=lambda ec2: not_found(ec2, "describe_availability_zones", "UnauthorizedOperation"),
    )
    assert [f.status for f in findings] == [
        "ok"
    ] and "2 endpoint services are offered in us-east-1a, us-east-1b" in findings[0].message


def test_a_denied_endpoint_service_lookup_is_unverified():
    [finding] = zones_check(lambda ec2: not_found(ec2, "describe_vpc_endpoint_services", "UnauthorizedOperation"))
    assert finding.status == UNVERIFIED and "aws ec2 describe-vpc-endpoint-services --service-names" in finding.message


# --- cost allocation tags ---------------------------------------------------------------------------

TAGS = {"TagKeys": ["Project", "Environment"], "Type": "UserDefined"}


def tags_check(statuses: dict[str, str] | None, error: str | None = None):
    account = StubbedAccount()
    ce = account.stub("ce")
    if error:
        not_found(ce, "list_cost_allocation_tags", error, params=TAGS)
    else:
        ce.add_response(
            "list_cost_allocation_tags",
            {
                "CostAllocationTags": [
                    {"TagKey": key, "Type": "UserDefined", "Status": status} for key, status in statuses.items()
                ]
            },
            TAGS,
        )
    findings = preflight.check_cost_allocation_tags(
        account.client("ce"), ("Project", "Environment"), ("governed-agents-dev-monthly",), environment="dev"
    )
    account.assert_all_answered()
    return findings


def test_an_inactive_tag_warns_that_the_budget_counts_nothing():
    project, environment = tags_check({"Project": "Active", "Environment": "Inactive"})
    assert project.status == "ok"
    assert environment.status == preflight.WARN
    assert (
        "cost allocation tag Environment is Inactive: budget governed-agents-dev-monthly filters on it and counts $0 of dev"
        in environment.message
    )
    assert (
        "aws ce update-cost-allocation-tags-status --cost-allocation-tags-status TagKey=Environment,Status=Active"
        in environment.message
    )
    assert preflight.ACTIVATING_TAGS in environment.message


def test_a_tag_billing_has_not_seen_yet_warns_to_activate_it_after_the_deploy():
    _, environment = tags_check({"Project": "Active"})
    assert environment.status == preflight.WARN and "Environment is not known to billing yet" in environment.message
    assert "after this deploy, activate it" in environment.message


def test_active_tags_pass_and_a_member_account_is_unverified():
    assert [f.status for f in tags_check({"Project": "Active", "Environment": "Active"})] == ["ok", "ok"]
    [finding] = tags_check(None, error="AccessDeniedException")
    assert finding.status == UNVERIFIED and "only the management account manages them" in finding.message


# --- Application Auto Scaling's service-linked roles ------------------------------------------------


def roles_check(exists: bool | None):
    account = StubbedAccount()
    iam = account.stub("iam")
    if exists:
        iam.add_response("get_role", role(SAGEMAKER_SLR), {"RoleName": SAGEMAKER_SLR})
    else:
        not_found(
            iam,
            "get_role",
            "NoSuchEntity" if exists is False else "AccessDenied",
            404 if exists is False else 403,
            params={"RoleName": SAGEMAKER_SLR},
        )
    findings = preflight.check_scaling_roles(account.client("iam"), ("sagemaker",), account="111111111111")
    account.assert_all_answered()
    return findings


def test_a_missing_service_linked_role_warns_with_the_permission_needed():
    [finding] = roles_check(False)
    assert finding.status == preflight.WARN
    message = finding.message
    assert f"service-linked role {SAGEMAKER_SLR} does not exist yet" in message
    assert (
        "needs iam:CreateServiceLinkedRole on arn:aws:iam::111111111111:role/aws-service-role/"
        f"sagemaker.application-autoscaling.amazonaws.com/{SAGEMAKER_SLR}"
    ) in message
    assert (
        "aws iam create-service-linked-role --aws-service-name sagemaker.application-autoscaling.amazonaws.com"
        in message
    )


def test_an_existing_service_linked_role_passes_and_a_denied_read_is_unverified():
    assert [f.status for f in roles_check(True)] == ["ok"]
    assert [f.status for f in roles_check(None)] == [UNVERIFIED]


def test_warnings_alone_do_not_refuse():
    findings = roles_check(False) + tags_check({"Project": "Inactive", "Environment": "Active"})
    assert preflight.refusal(findings, "dev") is None
    assert "  warning    roles" in preflight.report(findings)


# --- the whole preflight against one stubbed account ------------------------------------------------


def test_a_broken_account_is_refused_with_every_problem_listed(dev, dev_assembly):
    account = StubbedAccount()
    answer(account, broken=True)
    findings = preflight.preflight(dev, dev_assembly, account)
    account.assert_all_answered()
    assert sorted(f.check for f in findings if f.status == REFUSE) == [
        "bootstrap",
        "image",
        "quota",
        "update",
        "weights",
        "zones",
    ]
    # Inactive cost allocation tags and a missing service-linked role fail no deploy: warnings.
    assert sorted(f.check for f in findings if f.status == preflight.WARN) == ["roles", "tags", "tags"]
    message = preflight.refusal(findings, "dev")
    assert message.startswith("preflight found 6 problem(s) in dev's account that would fail the deploy:")
    for fragment in (
        "[image] serving image",
        "[weights] model weights",
        "[quota] quota 'ml.g6.xlarge for endpoint usage'",
        "[bootstrap] aws://111111111111/us-east-1 is not bootstrapped",
        "[update] dev/dev-Inference: endpoint governed-agents-dev-llm: the update switches its hosting from models on "
        "its variants to inference components",
        "[zones] the endpoint service aws.sagemaker.us-east-1.experiments is not offered in us-east-1b (use1-az5)",
        "Warnings (do not block):\n  - [tags] cost allocation tag Project is Inactive",
        f"[roles] service-linked role {SAGEMAKER_SLR} does not exist yet",
    ):
        assert fragment in message
    assert message.index("[zones]") < message.index("Warnings (do not block):")


def test_a_ready_account_passes(dev, dev_assembly):
    account = StubbedAccount()
    answer(account, broken=False)
    findings = preflight.preflight(dev, dev_assembly, account)
    account.assert_all_answered()
    assert {f.status for f in findings} == {"ok"}, preflight.report(findings)
    assert preflight.refusal(findings, "dev") is None


def test_credentials_for_another_account_stop_before_any_other_check(dev, dev_assembly):
    account = StubbedAccount()
    account.stub("sts").add_response(
        "get_caller_identity", {"Account": "999999999999", "Arn": "arn:aws:iam::999999999999:user/x", "UserId": "x"}, {}
    )
    findings = preflight.preflight(dev, dev_assembly, account)
    assert [(f.check, f.status) for f in findings] == [("account", REFUSE)]
    assert "the credentials are for account 999999999999, but config says account 111111111111" in findings[0].message
