"""Per-purpose KMS keys: rotation, and key policies that only let the intended service use them."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ENVIRONMENTS, only, resources

USE_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"}
PURPOSES = (
    "logs",
    "storage",
    "inference",
    "notifications",
    "functions",
)  # encryption keys; the HMAC key: test_caller_id_key.py
# The one service each key's account statement admits (kms:ViaService); the logs key has a service principal instead.
VIA_SERVICE = {"storage": "s3", "inference": "sagemaker", "notifications": "sns", "functions": "lambda"}


def keys_by_purpose(template: dict) -> dict[str, dict]:
    """The encryption keys by the last segment of their alias."""
    aliases = resources(template, "AWS::KMS::Alias")
    by_logical_id = {alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]: alias for alias in aliases.values()}
    return {
        by_logical_id[logical_id]["Properties"]["AliasName"].rsplit("/", 1)[1]: key
        for logical_id, key in resources(template, "AWS::KMS::Key").items()
        if key["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    }


def statements(key: dict) -> list[dict]:
    return key["Properties"]["KeyPolicy"]["Statement"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_one_rotating_key_per_purpose(synthesized, env):
    template = synthesized.templates[(env, "Foundation")]
    keys = keys_by_purpose(template)
    assert sorted(keys) == sorted(PURPOSES)
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["Properties"]["RotationPeriodInDays"] == 365
        assert key["Properties"]["PendingWindowInDays"] == 30
    aliases = {a["Properties"]["AliasName"] for a in resources(template, "AWS::KMS::Alias").values()}
    assert aliases == {f"alias/governed-agents/{env}/{purpose}" for purpose in (*PURPOSES, "caller-ids")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_principal_may_use_a_key_outside_its_service(synthesized, env):
    for purpose, key in keys_by_purpose(synthesized.templates[(env, "Foundation")]).items():
        for statement in statements(key):
            actions = set(as_list(statement["Action"]))
            assert "kms:*" not in actions, (purpose, statement)
            principal = json.dumps(statement["Principal"])
            if ":root" in principal and actions & USE_ACTIONS:
                via = statement["Condition"]["StringEquals"]["kms:ViaService"]
                assert via.split(".")[0] == VIA_SERVICE[purpose]
                assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == synthesized.configs[env].account


def test_logs_key_is_usable_by_cloudwatch_logs_for_this_accounts_log_groups(synthesized):
    config = synthesized.configs["dev"]
    key = keys_by_purpose(synthesized.templates[("dev", "Foundation")])["logs"]
    [statement] = [s for s in statements(key) if s.get("Sid") == "CloudWatchLogsUse"]
    assert statement["Principal"] == {"Service": f"logs.{config.region}.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{config.region}:{config.account}:log-group:*"}
    }
    # Nobody but the logs service may encrypt or decrypt with it.
    users = [s for s in statements(key) if set(as_list(s["Action"])) & USE_ACTIONS]
    assert users == [statement]


def test_alarm_topic_is_encrypted_with_the_notifications_key_and_tls_only(synthesized):
    template = synthesized.templates[("dev", "Foundation")]
    keys = resources(template, "AWS::KMS::Key")
    topic = only(resources(template, "AWS::SNS::Topic"))
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert keys[key_id] is keys_by_purpose(template)["notifications"]
    notifications = keys_by_purpose(template)["notifications"]
    [publish] = [s for s in statements(notifications) if s.get("Sid") == "CloudWatchAlarmsPublish"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}
    policy = only(resources(template, "AWS::SNS::TopicPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    subscription = only(resources(template, "AWS::SNS::Subscription"))["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ml-platform-dev@example.com")


@pytest.mark.parametrize(
    "env, deletion, replacement",
    [
        ("dev", "Delete", "Delete"),
        ("staging", "RetainExceptOnCreate", "Retain"),
        ("prod", "RetainExceptOnCreate", "Retain"),
    ],
)
def test_removal_policy_follows_config(synthesized, env, deletion, replacement):
    for key in resources(synthesized.templates[(env, "Foundation")], "AWS::KMS::Key").values():
        assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == (deletion, replacement)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_context_cloudwatch_logs_sends_for_each_log_group_meets_the_logs_key_condition(synthesized, env):
    """CloudWatch Logs calls KMS as itself with encryption context `aws:logs:arn` = the log group's ARN,
    `arn:<partition>:logs:<region>:<account>:log-group:<name>` (CloudWatch Logs guide, "Encrypt log data
    using AWS KMS": https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html). Every
    log group of the environment must get that context past the key policy's ArnLike condition."""
    import fnmatch

    config = synthesized.configs[env]
    key = keys_by_purpose(synthesized.templates[(env, "Foundation")])["logs"]
    [statement] = [s for s in statements(key) if s.get("Sid") == "CloudWatchLogsUse"]
    [pattern] = statement["Condition"]["ArnLike"].values()
    names = [
        group["Properties"].get("LogGroupName", "generated-name")
        for (stage, _), template in synthesized.templates.items()
        if stage == env
        for group in resources(template, "AWS::Logs::LogGroup").values()
    ]
    assert len(names) >= 3  # flow logs, the endpoint's containers, the agent
    for name in names:
        name = name if isinstance(name, str) else "deploy-time-name"
        context = f"arn:aws:logs:{config.region}:{config.account}:log-group:{name}"
        assert fnmatch.fnmatchcase(context, pattern), (context, pattern)
