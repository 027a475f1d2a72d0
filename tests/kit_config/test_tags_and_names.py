"""Tags AWS accepts, and resource names derived from Project and the environment that fit each service."""

from __future__ import annotations

import pytest

from kit_config import load_environment
from kit_config.resource_names import mlflow_artifact_bucket_name, mlflow_resource_name
from tests.kit_config.conftest import assert_rejected, edit

BAD = {
    "aws: tag key": (
        lambda d: d["tags"].update({"aws:team": "ml"}),
        "tags",
        "the aws: prefix is reserved for AWS on tag keys and values",
    ),
    "AWS: tag value": (lambda d: d["tags"].update(Team="AWS:ml"), "tags", "the aws: prefix is reserved"),
    "tag key with a bad character": (
        lambda d: d["tags"].update({"team#": "ml"}),
        "tags",
        "'team#' is not a valid AWS tag key",
    ),
    "tag key too long": (lambda d: d["tags"].update({"k" * 129: "v"}), "tags", "is not a valid AWS tag key (1-128"),
    "too many tags": (
        lambda d: d["tags"].update({f"Extra{i}": "x" for i in range(45)}),
        "tags",
        "50 tags plus the kit's 1 (DeployedCommit) exceed AWS's 50 tags per resource",
    ),
    "Project too long for the MLflow bucket": (
        lambda d: d["tags"].update(Project="governed-agents-for-the-customer-support-desk"),
        "tags.Project",
        "MLflow artifact bucket 'governed-agents-for-the-customer-support-desk-dev-mlflow-111111111111' (69 characters; S3 allows 3-63)",
    ),
    "Project with a space": (
        lambda d: d["tags"].update(Project="Governed Agents"),
        "tags.Project",
        "KMS alias 'alias/Governed Agents/dev/logs' (letters, digits, / _ - only",
    ),
    # Every key's alias is alias/<Project>/<env>/<purpose>; alias/aws/ is AWS's (CreateAlias).
    "Project aws": (
        lambda d: d["tags"].update(Project="AWS"),
        "tags.Project",
        "KMS alias 'alias/AWS/dev/logs' (alias/aws/ is reserved for AWS managed keys)",
    ),
}


@pytest.mark.parametrize("change, field, words", BAD.values(), ids=BAD.keys())
def test_bad_tags_and_names_name_file_and_field(config_dir, change, field, words):
    edit(config_dir, "dev", change)
    assert_rejected(config_dir, "dev", field, words)


def test_bucket_name_length_is_checked_not_guessed(config_dir):
    # 43 characters before "-mlflow-<account>" is the most S3's 63 allow: accepted exactly at the limit.
    project = "p" * (43 - len("-dev"))
    assert len(mlflow_artifact_bucket_name(project, "dev", "111111111111")) == 63
    edit(config_dir, "dev", lambda d: d["tags"].update(Project=project))
    assert load_environment("dev", config_dir).tags.Project == project
    edit(config_dir, "dev", lambda d: d["tags"].update(Project=project + "p"))
    assert_rejected(config_dir, "dev", "tags.Project", "(64 characters; S3 allows 3-63)")


def test_names_agree_with_the_constructs():
    """kit_constructs builds these names itself today; the kit_config functions must give the same ones."""
    from kit_constructs import mlflow_tracking

    for project, env in (("governed-agents", "dev"), ("Gov_Agents", "staging"), ("a--b", "prod")):
        assert mlflow_resource_name(project, env) == mlflow_tracking.mlflow_resource_name(project, env)


def test_every_key_alias_is_checked_the_hmac_key_included():
    from kit_config.resource_names import KMS_KEY_PURPOSES
    from kit_constructs.encryption_keys import KEY_PURPOSES

    assert KMS_KEY_PURPOSES == KEY_PURPOSES
    assert "caller-ids" in KEY_PURPOSES
