"""Preflight: each account-side check rejects the broken form and accepts the good one.

AWS answers come from botocore's Stubber on real boto3 clients (the request parameters are checked
against the service models, and so are the canned responses). The assembly is the committed
snapshot of the real synthesized stacks, laid out as `cdk synth` writes it.
"""

from __future__ import annotations

import subprocess

import pytest

from kit_config import load_environment
from release import preflight
from release.preflight import REFUSE, UNVERIFIED, ImageRef, QuotaNeed, WeightsRef
from tests.release.assembly_fixture import write_assembly
from tests.release.aws_stubs import DEV_STACKS, HEAD, LIST, PARAMETER, StubbedAccount, answer, not_found, quota
from tests.release.conftest import PROJECT_DIR, PYTHON, clean_environment, run

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
    assert (image.uri, image.registry_id, image.repository, image.tag, image.digest) == (LMI, "763104351884", "djl-inference", "0.38.0-lmi29.0.0-cu130", None)
    assert image.used_by == ("dev-Inference variant primary",)
    [weights] = plan.weights
    assert (weights.uri, weights.bucket, weights.prefix) == (WEIGHTS, "governed-agents-dev-models", "qwen2.5-7b-instruct/")
    # Blue/green: dev's primary scales to 2, so an update can hold 4.
    assert plan.quotas == (QuotaNeed("ml.g6.xlarge", 4, "primary: 2 x max_instances 2"),)
    assert plan.quotas[0].quota_name == "ml.g6.xlarge for endpoint usage"
    assert plan.lambda_agent and plan.reserved_concurrency == 20
    assert (plan.bootstrap_version, plan.bootstrap_parameter) == (6, "/cdk-bootstrap/hnb659fds/version")
    assert [s.stack_name for s in plan.stacks] == DEV_STACKS


def test_plan_of_staging_dedupes_the_shared_image_and_adds_up_both_variants(tmp_path):
    staging = load_environment("staging")
    plan = preflight.plan(staging, write_assembly(tmp_path / "out", "staging"))
    [image] = plan.images
    assert sorted(image.used_by) == ["staging-Inference variant challenger", "staging-Inference variant primary"]
    peaks = {need.instance_type: need.peak for need in plan.quotas}
    assert peaks == staging.inference.rollout_peak_instances()
    assert sum(2 * v.autoscaling.max_instances for v in staging.inference.variants) == peaks["ml.g5.2xlarge"]
    assert not plan.lambda_agent   # staging's agent runs on Fargate


def test_explain_prints_the_concrete_checks(dev, dev_assembly):
    text = preflight.explain(preflight.plan(dev, dev_assembly), "governed-agents-dev")
    assert text.startswith("Preflight for dev (account 111111111111, region us-east-1)")
    assert f"image      {LMI} exists" in text
    assert ("aws ecr describe-images --registry-id 763104351884 --repository-name djl-inference "
            "--image-ids imageTag=0.38.0-lmi29.0.0-cu130 --region us-east-1 --profile governed-agents-dev") in text
    assert f"weights    {WEIGHTS} has objects and {WEIGHTS}config.json" in text
    assert "'ml.g6.xlarge for endpoint usage' (service code sagemaker, us-east-1) >= 4" in text
    assert "reserved concurrency 20 leaves 100 unreserved: account limit >= 120" in text
    assert "SSM /cdk-bootstrap/hnb659fds/version >= 6; when missing: cdk bootstrap aws://111111111111/us-east-1 --profile governed-agents-dev" in text
    assert "dev-Inference" in text.splitlines()[-1]


def test_cli_without_credentials_explains_and_exits_0(dev_assembly, empty_home):
    result = run([PYTHON, "-m", "release.preflight", "--env", "dev", "--assembly", str(dev_assembly)], PROJECT_DIR,
                 clean_environment(empty_home), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Preflight for dev (account 111111111111, region us-east-1) checks" in result.stdout
    assert "--profile governed-agents-dev" in result.stdout   # the profile the operator is to configure
    assert "No AWS credentials: nothing was checked" in result.stderr


def test_cli_needs_one_environment(empty_home):
    result = run([PYTHON, "-m", "release.preflight", "--env", "dev,prod"], PROJECT_DIR, clean_environment(empty_home), timeout=60)
    assert result.returncode == 1 and "name exactly one environment" in result.stderr


def test_make_preflight_target_exists():
    listed = subprocess.run(["make", "-s", "help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    assert "make preflight" in listed


# --- image ------------------------------------------------------------------------------------------


def image(uri: str = LMI) -> ImageRef:
    match = preflight._IMAGE.match(uri)
    return ImageRef(uri, match["registry"], match["region"], match["repository"], match["tag"], match["digest"], ("dev-Inference variant primary",))


@pytest.mark.parametrize("code", ["ImageNotFoundException", "RepositoryNotFoundException"])
def test_a_missing_image_is_refused(code):
    account = StubbedAccount()
    not_found(account.stub("ecr"), "describe_images", code, params={
        "registryId": "763104351884", "repositoryName": "djl-inference", "imageIds": [{"imageTag": "0.38.0-lmi29.0.0-cu130"}]})
    [finding] = preflight.check_images(lambda region: account.client("ecr", region), (image(),), environment="dev")
    assert finding.status == REFUSE
    assert f"serving image {LMI} (dev-Inference variant primary) does not exist: {code}" in finding.message
    assert "inference.lmi_version" in finding.message and "config/dev.yaml" in finding.message


def test_access_denied_on_the_aws_registry_is_unverified_with_the_command():
    account = StubbedAccount()
    not_found(account.stub("ecr"), "describe_images", "AccessDeniedException", message="not authorized to perform ecr:DescribeImages")
    [finding] = preflight.check_images(lambda region: account.client("ecr", region), (image(),), environment="dev", profile="p")
    assert finding.status == UNVERIFIED
    assert "could not verify" in finding.message and "AccessDeniedException" in finding.message
    assert "Check with: aws ecr describe-images --registry-id 763104351884" in finding.message and "--profile p" in finding.message


def test_an_existing_image_by_digest_passes():
    digest = "sha256:" + "ab" * 32
    uri = f"222222222222.dkr.ecr.eu-west-1.amazonaws.com/team/serving@{digest}"
    account = StubbedAccount()
    account.stub("ecr", "eu-west-1").add_response(
        "describe_images", {"imageDetails": [{"registryId": "222222222222", "repositoryName": "team/serving", "imageDigest": digest}]},
        {"registryId": "222222222222", "repositoryName": "team/serving", "imageIds": [{"imageDigest": digest}]},
    )
    [finding] = preflight.check_images(lambda region: account.client("ecr", region), (image(uri),), environment="dev")
    assert finding.status == "ok"
    account.assert_all_answered()   # the client of the image's own region was asked


# --- weights ----------------------------------------------------------------------------------------

REF = WeightsRef(WEIGHTS, "governed-agents-dev-models", "qwen2.5-7b-instruct/", ("dev-Inference variant primary",))


def test_an_empty_weights_prefix_is_refused():
    account = StubbedAccount()
    account.stub("s3").add_response("list_objects_v2", {"KeyCount": 0, "Name": "governed-agents-dev-models"}, LIST)
    [finding] = preflight.check_weights(account.client("s3"), (REF,))
    assert finding.status == REFUSE and f"model weights {WEIGHTS} (dev-Inference variant primary): no objects" in finding.message


def test_a_missing_bucket_is_refused():
    account = StubbedAccount()
    not_found(account.stub("s3"), "list_objects_v2", "NoSuchBucket", 404)
    [finding] = preflight.check_weights(account.client("s3"), (REF,))
    assert finding.status == REFUSE and "the bucket governed-agents-dev-models does not exist" in finding.message


def test_weights_without_config_json_are_refused():
    account = StubbedAccount()
    s3 = account.stub("s3")
    s3.add_response("list_objects_v2", {"KeyCount": 1, "Contents": [{"Key": "qwen2.5-7b-instruct/model.safetensors"}]}, LIST)
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
        "list_service_quotas", {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 3.0, "L-G6XLARGE")]}, {"ServiceCode": "sagemaker"})
    [finding] = preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")
    assert finding.status == REFUSE
    message = finding.message
    assert "quota 'ml.g6.xlarge for endpoint usage' (L-G6XLARGE) is 3 in us-east-1" in message
    assert "holds up to 4 ml.g6.xlarge instances (primary: 2 x max_instances 2" in message
    assert ("aws service-quotas request-service-quota-increase --service-code sagemaker --quota-code L-G6XLARGE "
            "--desired-value 4 --region us-east-1") in message
    assert "not subtracted" in message


def test_a_quota_on_a_later_page_that_covers_the_peak_passes():
    account = StubbedAccount()
    stub = account.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": [quota("ml.g5.xlarge for endpoint usage", 0.0)], "NextToken": "page2"},
                      {"ServiceCode": "sagemaker"})
    stub.add_response("list_service_quotas", {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 4.0)]},
                      {"ServiceCode": "sagemaker", "NextToken": "page2"})
    assert [f.status for f in preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")] == ["ok"]
    account.assert_all_answered()


def test_a_quota_without_an_applied_value_falls_back_to_the_default():
    account = StubbedAccount()
    stub = account.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    stub.add_response("list_aws_default_service_quotas", {"Quotas": [quota("ml.g6.xlarge for endpoint usage", 0.0)]}, {"ServiceCode": "sagemaker"})
    [finding] = preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")
    assert finding.status == REFUSE and "is 0 (AWS default) in us-east-1" in finding.message


def test_an_unknown_quota_name_is_unverified_not_passed():
    account = StubbedAccount()
    stub = account.stub("service-quotas")
    stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    stub.add_response("list_aws_default_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker"})
    [finding] = preflight.check_quotas(account.client("service-quotas"), (NEED,), region="us-east-1", environment="dev")
    assert finding.status == UNVERIFIED and "no SageMaker quota named 'ml.g6.xlarge for endpoint usage'" in finding.message


# --- Lambda concurrency -----------------------------------------------------------------------------


def lambda_limits(account: StubbedAccount, limit: int, unreserved: int):
    account.stub("lambda").add_response(
        "get_account_settings", {"AccountLimit": {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": unreserved}}, {})
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
    assert finding.status == REFUSE and "limit is 110" in finding.message and "so at most 10 can be reserved" in finding.message


def test_other_functions_reservations_leave_too_little():
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 1000, 110), 20, environment="dev")
    assert finding.status == REFUSE and "only 10 can still be reserved" in finding.message


def test_a_redeploy_counts_its_own_reservation_back():
    # Same account as above, but 20 of the 890 reserved are this agent's own (already deployed).
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 1000, 110), 20, already_reserved=20, environment="dev")
    assert finding.status == "ok"


def test_a_default_account_fits_and_no_reservation_only_reports():
    assert preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 1000, 1000), 20, environment="dev")[0].status == "ok"
    [finding] = preflight.check_lambda_concurrency(lambda_limits(StubbedAccount(), 10, 10), None, environment="dev")
    assert finding.status == "ok" and "the account's Lambda limit is 10" in finding.message


# --- CDK bootstrap ----------------------------------------------------------------------------------

def bootstrap(version: str | None, required: int = 6):
    account = StubbedAccount()
    if version is None:
        not_found(account.stub("ssm"), "get_parameter", "ParameterNotFound", params={"Name": PARAMETER})
    else:
        account.stub("ssm").add_response("get_parameter", {"Parameter": {"Name": PARAMETER, "Value": version, "Type": "String"}}, {"Name": PARAMETER})
    return preflight.check_bootstrap(account.client("ssm"), required, PARAMETER, account="111111111111", region="us-east-1",
                                     profile="governed-agents-dev")


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
    not_found(stub, "get_template", "ValidationError", message="Stack with id dev-Network does not exist",
              params={"StackName": "dev-Network", "TemplateStage": "Original"})
    stub.add_response("get_template", {"TemplateBody": '{"Resources": {}}'}, {"StackName": "dev-Agent", "TemplateStage": "Original"})
    assert preflight.deployed_templates(account.client("cloudformation"), ["dev-Network", "dev-Agent"]) == {
        "dev-Network": None, "dev-Agent": {"Resources": {}}}


# --- the whole preflight against one stubbed account ------------------------------------------------


def test_a_broken_account_is_refused_with_every_problem_listed(dev, dev_assembly):
    account = StubbedAccount()
    answer(account, broken=True)
    findings = preflight.preflight(dev, dev_assembly, account)
    account.assert_all_answered()
    assert sorted(f.check for f in findings if f.status == REFUSE) == ["bootstrap", "image", "lambda", "quota", "update", "weights"]
    message = preflight.refusal(findings, "dev")
    assert message.startswith("preflight found 6 problem(s) in dev's account that would fail the deploy:")
    for fragment in ("[image] serving image", "[weights] model weights", "[quota] quota 'ml.g6.xlarge for endpoint usage'",
                     "[lambda] agent.reserved_concurrency is 20", "[bootstrap] aws://111111111111/us-east-1 is not bootstrapped",
                     "[update] dev/dev-Inference: endpoint governed-agents-dev-llm, variant 'primary': instance type ml.g5.2xlarge -> ml.g6.xlarge"):
        assert fragment in message


def test_a_ready_account_passes(dev, dev_assembly):
    account = StubbedAccount()
    answer(account, broken=False)
    findings = preflight.preflight(dev, dev_assembly, account)
    account.assert_all_answered()
    assert {f.status for f in findings} == {"ok"}, preflight.report(findings)
    assert preflight.refusal(findings, "dev") is None


def test_credentials_for_another_account_stop_before_any_other_check(dev, dev_assembly):
    account = StubbedAccount()
    account.stub("sts").add_response("get_caller_identity", {"Account": "999999999999", "Arn": "arn:aws:iam::999999999999:user/x", "UserId": "x"}, {})
    findings = preflight.preflight(dev, dev_assembly, account)
    assert [(f.check, f.status) for f in findings] == [("account", REFUSE)]
    assert "the credentials are for account 999999999999, but config says account 111111111111" in findings[0].message
