"""The caller-id HMAC key: its properties, its policy, the agent's one grant and the identity settings per host."""

from __future__ import annotations

import json

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam

from kit_config.loader import DEFAULT_CONFIG_DIR
from kit_constructs.caller_id_key import CallerIdKey, CallerIdKeyProps
from tests.helpers import ENVIRONMENTS, gate_findings, only, resources
from tests.kit_constructs.test_agent_service import actions, agent, permissions, runtime_environment

pytestmark = pytest.mark.synth


def caller_id_key(synthesized, env: str) -> tuple[str, dict]:
    keys = {
        k: v
        for k, v in resources(synthesized.templates[(env, "Foundation")], "AWS::KMS::Key").items()
        if k.startswith("CallerIdsKey")
    }
    ((logical_id, key),) = keys.items()
    return logical_id, key


def refers_to_key_arn(value: object, logical_id: str) -> bool:
    """A (weak) cross-stack reference to the Foundation stack's output of this key's Arn."""
    output = value["Fn::GetStackOutput"]["OutputName"] if isinstance(value, dict) else ""
    return output.startswith(f"PublishOutputFnGetAtt{logical_id}Arn")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_an_hmac_256_key_that_is_never_rotated_and_retained_like_the_others(synthesized, env):
    _, key = caller_id_key(synthesized, env)
    properties = key["Properties"]
    assert (properties["KeySpec"], properties["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert properties["EnableKeyRotation"] is False and "RotationPeriodInDays" not in properties
    assert properties["PendingWindowInDays"] == 30
    retained = synthesized.configs[env].removal_policy == "retain"
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == (
        ("RetainExceptOnCreate", "Retain") if retained else ("Delete", "Delete")
    )
    aliases = [
        a["Properties"]["AliasName"]
        for a in resources(synthesized.templates[(env, "Foundation")], "AWS::KMS::Alias").values()
    ]
    assert f"alias/governed-agents/{env}/caller-ids" in aliases


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_key_policy_allows_generate_mac_with_sha_256_only(synthesized, env):
    _, key = caller_id_key(synthesized, env)
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert set(statements) == {"AccountKeyAdministration", "GenerateMacThroughIamPolicies"}
    administration = statements["AccountKeyAdministration"]["Action"]
    assert not [a for a in administration if a in ("kms:*", "kms:GenerateMac", "kms:VerifyMac")]
    use = statements["GenerateMacThroughIamPolicies"]
    assert use["Action"] == "kms:GenerateMac"
    assert use["Condition"] == {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_256"}}
    assert use["Principal"] == {"AWS": f"arn:aws:iam::{synthesized.configs[env].account}:root"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_agent_may_only_generate_macs_with_that_key(synthesized, env):
    logical_id, _ = caller_id_key(synthesized, env)
    kms = [
        s
        for s in permissions(agent(synthesized, env))
        if any(a.startswith("kms:") and "GenerateData" not in a and a != "kms:Decrypt" for a in actions(s))
    ]
    (grant,) = kms
    assert grant["Action"] == "kms:GenerateMac" and grant["Effect"] == "Allow" and "Condition" not in grant
    assert refers_to_key_arn(grant["Resource"], logical_id)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_runtime_gets_the_key_and_its_host_s_auth_mode(synthesized, env):
    logical_id, _ = caller_id_key(synthesized, env)
    environment = runtime_environment(synthesized, env)
    config = synthesized.configs[env]
    assert refers_to_key_arn(environment["AGENT_CALLER_ID_KMS_KEY"], logical_id)
    assert environment["AGENT_MAX_TURNS_PER_CALLER"] == str(config.agent.identity.max_turns_per_caller)
    assert "AGENT_CALLER_ID_SECRET" not in environment and "AGENT_JWKS_FILE" not in environment  # local mode only
    if config.agent.compute == "lambda":
        assert environment["AGENT_AUTH_MODE"] == "iam"
        assert not [name for name in environment if name.startswith(("AGENT_JWT", "AGENT_JWKS"))]
    else:
        jwt = config.agent.identity.jwt
        assert environment["AGENT_AUTH_MODE"] == "jwt"
        assert (environment["AGENT_JWT_ISSUER"], environment["AGENT_JWT_AUDIENCE"]) == (jwt.issuer, jwt.audience)
        assert json.loads(environment["AGENT_JWT_ALGORITHMS"]) == jwt.algorithms
        assert json.loads(environment["AGENT_JWKS"]) == json.loads((DEFAULT_CONFIG_DIR / jwt.jwks_file).read_text())


def test_the_lambda_function_url_authenticates_with_iam(synthesized):
    url = only(resources(agent(synthesized, "dev"), "AWS::Lambda::Url"))["Properties"]
    assert url["AuthType"] == "AWS_IAM"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kms_is_reachable_from_the_isolated_subnets(synthesized, env):
    """GenerateMac goes through the KMS interface endpoint; without an endpoint policy it allows every action."""
    endpoints = [
        e["Properties"] for e in resources(synthesized.templates[(env, "Network")], "AWS::EC2::VPCEndpoint").values()
    ]
    kms = [
        e
        for e in endpoints
        if json.dumps(e["ServiceName"]).endswith('.kms"]]}')
        or e["ServiceName"] == f"com.amazonaws.{synthesized.configs[env].region}.kms"
    ]
    (endpoint,) = kms
    assert endpoint["PrivateDnsEnabled"] is True and "PolicyDocument" not in endpoint


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_finding_on_the_hmac_key_is_acknowledged(synthesized, env):
    """cdk-nag's rotation rule (AwsSolutions-KMS5, NIST KMSBackingKeyRotationEnabled) applies to symmetric
    encryption keys only, and passes HMAC keys: nothing about this key needs accepting."""
    report = next(r for r in synthesized.kit.compliance_reports() if r.environment == env)
    assert report.passed
    assert not [f for f in report.findings if "/CallerIds/" in f.resource_path]


def test_the_construct_alone_passes_every_pack_without_acknowledgments(tmp_path):
    def build(stack):
        key = CallerIdKey(
            stack, "CallerIds", CallerIdKeyProps(env_name="gate", project="kit", removal_policy=RemovalPolicy.DESTROY)
        )
        policy = iam.ManagedPolicy(stack, "Pseudonyms")  # granted as the agent's permissions are
        iam.Role(stack, "Agent", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), managed_policies=[policy])
        key.grant_generate_mac(policy)

    assert gate_findings(build, tmp_path=tmp_path) == {}
