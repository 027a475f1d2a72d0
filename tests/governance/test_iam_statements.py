"""Statement checks against the Service Authorization Reference, and the kit's own policies in every environment."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.arn_forms import ResolvedReference
from governance.iam_statements import document_findings, untyped_resources
from governance.kit_rule import cfn_properties, evaluation_cache
from governance.policy import GovernancePolicy
from governance.rules.iam_matches_service_reference import (
    POLICY_DOCUMENTS,
    IamMatchesServiceReference,
    policy_documents,
    reference_resolver,
)


def _no_references(reference):
    return None


def _document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_each_kind_of_finding():
    document = _document(
        {
            "Effect": "Allow",
            "Action": ["logs:PutLogEvent", "logs:DescribeLogGroups"],
            "Resource": "arn:aws:logs:us-east-1:1:log-group:g:*",
        },
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaServices": "x"}},
        },
    )
    assert document_findings(document, _no_references) == [
        "ResourceMatchesNoType::logs:DescribeLogGroups",
        "UnknownAction::logs:PutLogEvent",
        "UnknownConditionKey::kms:ViaServices",
    ]


def test_deny_statements_and_not_action_are_judged_for_what_they_name():
    document = _document(
        {
            "Effect": "Deny",
            "NotAction": ["s3:GetObjects"],
            "Resource": "arn:aws:s3:::b/*",
        },  # unknown, even in NotAction
        {"Effect": "Deny", "Action": "sns:Publish", "Resource": "arn:aws:s3:::b"},  # a topic action on a bucket
    )
    assert document_findings(document, _no_references) == [
        "ResourceMatchesNoType::sns:Publish",
        "UnknownAction::s3:GetObjects",
    ]


def test_statements_the_check_cannot_judge_are_left_alone():
    document = _document(
        # Trust policies have no Resource; a NotResource statement names what it does not apply to.
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}},
        {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "NotResource": "arn:aws:logs:*:*:log-group:x"},
        # A reference the resolver cannot type is not judged (and reported by untyped_resources).
        {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": {"Fn::ImportValue": "x"}},
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
    )
    assert document_findings(document, _no_references) == []
    assert untyped_resources(document, _no_references) == ["{'Fn::ImportValue': 'x'}"]


def test_a_bucket_name_is_no_resource():
    """`Ref` of a bucket is its name: a statement naming it grants nothing."""

    def resolve(reference):
        return ResolvedReference("AWS::S3::Bucket", "Ref")

    document = _document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Ref": "Bucket"}})
    assert document_findings(document, resolve) == ["ResourceMatchesNoType::s3:GetObject"]


def _policy_resources(synthesized):
    for stage in synthesized.kit.stages:
        for construct in stage.node.find_all():
            if isinstance(construct, CfnResource) and construct.cfn_resource_type in POLICY_DOCUMENTS:
                yield stage.stage_name, construct


def test_every_statement_in_every_environment_matches_the_reference(synthesized):
    """The rule passes every policy of the kit, and judged each resource: no reference is left untyped."""
    rule, checked, untyped = IamMatchesServiceReference(), {}, []
    with evaluation_cache():
        for env, node in _policy_resources(synthesized):
            assert rule.check(node, GovernancePolicy()) == NagRuleCompliance.COMPLIANT, node.node.path
            resolve = reference_resolver(Stack.of(node))
            untyped += [(node.node.path, r) for d in policy_documents(node) for r in untyped_resources(d, resolve)]
            checked[env] = checked.get(env, 0) + 1
    assert untyped == []
    assert set(checked) == {"dev", "staging", "prod"}
    assert all(count >= 20 for count in checked.values()), (
        checked
    )  # roles, policies, key/bucket/topic/endpoint policies


def test_the_flow_log_role_lists_log_groups_on_star_in_every_environment(synthesized):
    for env in ("dev", "staging", "prod"):
        template = synthesized.templates[(env, "Network")]
        (policy,) = [
            r["Properties"]["PolicyDocument"]
            for logical_id, r in template["Resources"].items()
            if r["Type"] == "AWS::IAM::ManagedPolicy" and "FlowLogDelivery" in logical_id
        ]
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["ListLogGroups"]["Action"] == "logs:DescribeLogGroups"
        assert by_sid["ListLogGroups"]["Resource"] == "*"
        assert "logs:DescribeLogGroups" not in by_sid["ThisLogGroup"]["Action"]


def test_cross_stack_references_in_the_kit_are_typed(synthesized):
    """Policies name other stacks' resources (the MLflow App or server, keys, buckets) through
    Fn::GetStackOutput: each is followed to the producing stack's resource, in every environment."""
    typed: dict[str, set[str]] = {}
    with evaluation_cache():
        for env, node in _policy_resources(synthesized):
            resolve = reference_resolver(Stack.of(node))
            for document in policy_documents(node):
                for statement in document["Statement"]:
                    resources = statement.get("Resource")
                    for resource in resources if isinstance(resources, list) else [resources]:
                        if isinstance(resource, dict) and "Fn::GetStackOutput" in resource:
                            typed.setdefault(env, set()).add(resolve(resource).resource_type)
    assert set(typed) == {"dev", "staging", "prod"}
    assert "AWS::SageMaker::MlflowApp" in typed["dev"] or "AWS::SageMaker::MlflowTrackingServer" in typed["dev"]
    assert "AWS::SageMaker::MlflowTrackingServer" in typed["prod"]


def test_policy_documents_reads_each_registered_type(synthesized):
    kinds = {node.cfn_resource_type for _, node in _policy_resources(synthesized) if policy_documents(node)}
    assert {
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
        "AWS::KMS::Key",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::EC2::VPCEndpoint",
    } <= kinds
    assert all(isinstance(cfn_properties(node), dict) for _, node in _policy_resources(synthesized))
