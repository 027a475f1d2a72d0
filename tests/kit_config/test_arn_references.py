"""Every ARN in config is checked against the environment's partition, region and account at load."""

from __future__ import annotations

import typing

import pytest
from pydantic import Field

from kit_config import load_environment
from kit_config.arn_references import arn_problems, arn_scope_of, arn_values
from kit_config.config_section import ConfigSection
from kit_config.field_types import ArnScope, aws_arn
from kit_config.schema import EnvironmentConfig
from tests.kit_config.conftest import assert_rejected, config_models, edit

CERTIFICATE = "certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
ROLE = "role/cdk-hnb659fds-cfn-exec-role"


def _holds_arns(name: str, field) -> bool:
    patterns = [getattr(m, "pattern", None) for m in field.metadata] + [
        getattr(m, "pattern", None)
        for arg in typing.get_args(field.annotation)
        for m in getattr(arg, "__metadata__", ())
    ]
    return "arn" in name.split("_") or any(p and p.startswith("^arn:") for p in patterns)


def test_every_field_that_holds_an_arn_is_declared_with_its_scope():
    """A new ARN field typed as a plain string would escape the environment check: declare it with aws_arn."""
    arn_fields = {
        f"{model.__name__}.{name}": arn_scope_of(field)
        for model in config_models(EnvironmentConfig)
        for name, field in model.model_fields.items()
        if _holds_arns(name, field)
    }
    assert {"FargateAgent.certificate_arn", "DeployConfig.role_arn"} <= set(arn_fields)
    assert [name for name, scope in arn_fields.items() if scope is None] == []


def test_shipped_arns_are_found_and_in_their_environment():
    prod = load_environment("prod")
    assert [(loc, arn) for loc, arn, _ in arn_values(prod)] == [
        (("agent", "certificate_arn"), prod.agent.certificate_arn)
    ]
    assert arn_problems(prod, account=prod.account, region=prod.region) == []


BAD = {
    "certificate from another account": (
        "prod",
        lambda d: d["agent"].update(certificate_arn=f"arn:aws:acm:us-west-2:444444444444:{CERTIFICATE}"),
        "agent.certificate_arn",
        "account 444444444444 is not this environment's account 333333333333: an ACM certificate can only be used",
    ),
    "certificate from another partition": (
        "prod",
        lambda d: d["agent"].update(certificate_arn=f"arn:aws-us-gov:acm:us-west-2:333333333333:{CERTIFICATE}"),
        "agent.certificate_arn",
        "partition aws-us-gov is not aws, the partition of us-west-2",
    ),
    "certificate from another region and account: both said": (
        "prod",
        lambda d: d["agent"].update(certificate_arn=f"arn:aws:acm:eu-west-1:444444444444:{CERTIFICATE}"),
        "agent.certificate_arn",
        "region eu-west-1 is not this environment's region us-west-2; account 444444444444",
    ),
    "deploy role of another account": (
        "prod",
        lambda d: d["deploy"].update(role_arn=f"arn:aws:iam::111111111111:{ROLE}"),
        "deploy.role_arn",
        "account 111111111111 is not this environment's account 333333333333: a role is passed",
    ),
    "deploy role of another partition": (
        "staging",
        lambda d: d["deploy"].update(role_arn=f"arn:aws-cn:iam::222222222222:{ROLE}"),
        "deploy.role_arn",
        "partition aws-cn is not aws, the partition of us-east-1",
    ),
    "IAM role ARN with a region": (
        "prod",
        lambda d: d["deploy"].update(role_arn=f"arn:aws:iam:us-west-2:333333333333:{ROLE}"),
        "deploy.role_arn",
        "String should match pattern",
    ),
    "certificate ARN without a region": (
        "prod",
        lambda d: d["agent"].update(certificate_arn=f"arn:aws:acm::333333333333:{CERTIFICATE}"),
        "agent.certificate_arn",
        "String should match pattern",
    ),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_arn_outside_the_environment_names_file_and_field(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_an_arn_in_a_china_environment_must_be_aws_cn(config_dir):
    """The partition follows the region (botocore's data), not a fixed `aws`."""

    def to_china(d):
        d.update(region="cn-north-1")
        d["network"].update(availability_zones=["cn-north-1a", "cn-north-1b", "cn-north-1c"])
        d["agent"].update(certificate_arn=f"arn:aws:acm:cn-north-1:333333333333:{CERTIFICATE}")

    edit(config_dir, "prod", to_china)
    assert_rejected(
        config_dir, "prod", "agent.certificate_arn", "partition aws is not aws-cn, the partition of cn-north-1"
    )


class _Key(ConfigSection):
    key_arns: list[
        aws_arn(ArnScope(service="kms", resource=r"key/[0-9a-f-]{36}", regional=True, same_account=False, why="w"))
    ] = Field(default=[])


class _Holder(ConfigSection):
    keys: _Key
    optional: aws_arn(ArnScope(service="sns", resource=r"[\w-]+", regional=True, same_account=True, why="t")) | None


def test_the_walk_finds_arns_in_lists_and_nested_sections_and_applies_each_scope():
    holder = _Holder(
        keys=_Key(
            key_arns=[
                "arn:aws:kms:us-east-1:999999999999:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
                "arn:aws:kms:eu-west-1:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
            ]
        ),
        optional="arn:aws:sns:us-east-1:999999999999:alarms",
    )
    problems = arn_problems(holder, account="111111111111", region="us-east-1")
    # The KMS scope allows another account (cross-account key use is legal); SNS does not.
    assert [(loc, message.split(": ", 1)[1]) for loc, message in problems] == [
        (("keys", "key_arns", 1), "region eu-west-1 is not this environment's region us-east-1: w"),
        (("optional",), "account 999999999999 is not this environment's account 111111111111: t"),
    ]
