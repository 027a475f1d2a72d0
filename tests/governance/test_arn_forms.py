"""Policy resources as ARN patterns, and whether a pattern can be of a resource type."""

from __future__ import annotations

import pytest

from governance.arn_forms import (
    NAME,
    ResolvedReference,
    Untyped,
    arn_pattern,
    arn_patterns_meet,
    patterns_meet,
    type_pattern,
)

LOG_GROUP_TYPE = type_pattern("arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}")
TRACKING_SERVER_TYPE = type_pattern(
    "arn:${Partition}:sagemaker:${Region}:${Account}:mlflow-tracking-server/${MlflowTrackingServerName}"
)


def _resolver(targets: dict[str, ResolvedReference]):
    def resolve(reference: dict):
        key = reference.get("Ref") or (reference.get("Fn::GetAtt") or [None])[0] or str(reference)
        return targets.get(key)

    return resolve


def test_wildcards_on_both_sides():
    assert patterns_meet("a*c", "ab?")
    assert patterns_meet("*", "anything")
    assert patterns_meet("x*", "*y")
    assert not patterns_meet("abc", "abd")
    assert not patterns_meet("a?", "abc")


def test_arn_fields_before_the_resource_part_hold_no_colon():
    """Compared as plain strings, the App ARN's trailing `*` and the type's account `*` would meet."""
    app = "arn:aws:sagemaker:us-east-1:111122223333:mlflow-app/*"
    assert patterns_meet(app, TRACKING_SERVER_TYPE)
    assert not arn_patterns_meet(app, TRACKING_SERVER_TYPE)
    assert arn_patterns_meet(
        "arn:aws:sagemaker:us-east-1:111122223333:mlflow-tracking-server/kit", TRACKING_SERVER_TYPE
    )
    assert not arn_patterns_meet("arn:aws:s3:::bucket/*", LOG_GROUP_TYPE)


def test_short_patterns_span_the_rest():
    assert arn_patterns_meet("*", TRACKING_SERVER_TYPE)
    assert arn_patterns_meet("arn:aws:logs:*", LOG_GROUP_TYPE)
    assert not arn_patterns_meet("arn:aws:s3*", LOG_GROUP_TYPE)


def test_joined_arns_keep_their_literal_parts():
    joined = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":logs:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":log-group:",
                {"Ref": "Group"},
                ":*",
            ],
        ]
    }
    resolve = _resolver({"Group": ResolvedReference("AWS::Logs::LogGroup", "Ref")})
    assert arn_pattern(joined, resolve) == "arn:*:logs:*:*:log-group:*:*"
    assert arn_pattern({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Name}/*"}, resolve) == "arn:*:s3:::*/*"
    assert arn_pattern({"Fn::Sub": ["arn:aws:s3:::${B}", {"B": "kit"}]}, resolve) == "arn:aws:s3:::kit"
    assert arn_pattern("arn:aws:s3:::home/${aws:username}/*", resolve) == "arn:aws:s3:::home/*/*"


def test_references_are_typed_by_the_resource_they_name():
    resolve = _resolver(
        {
            "Group": ResolvedReference("AWS::Logs::LogGroup", "Arn"),
            "Bucket": ResolvedReference("AWS::S3::Bucket", "Ref"),
            "Custom": ResolvedReference("Custom::Thing", "Arn"),
        }
    )
    assert arn_pattern({"Fn::GetAtt": ["Group", "Arn"]}, resolve) == "arn:*:logs:*:*:log-group:*:*"
    assert arn_pattern({"Ref": "Bucket"}, resolve) == NAME  # a bucket's name is no ARN: it matches no type
    with pytest.raises(Untyped):
        arn_pattern({"Fn::GetAtt": ["Custom", "Arn"]}, resolve)
    with pytest.raises(Untyped):
        arn_pattern({"Fn::ImportValue": "elsewhere"}, resolve)
    # Inside a Join an untyped piece is any text.
    assert arn_pattern({"Fn::Join": ["", [{"Fn::GetAtt": ["Custom", "Arn"]}, "/*"]]}, resolve) == "*/*"
