"""The security summary on the real synthesized templates, each with one deliberate change."""

from __future__ import annotations

import copy

from release.assembly import ComplianceRow
from release.security_summary import summarize
from tests.helpers import resources


def _env_templates(synthesized, env: str) -> dict[str, dict]:
    return {f"{e}-{stack}": copy.deepcopy(t) for (e, stack), t in synthesized.templates.items() if e == env}


def _one(templates: dict, stack: str, resource_type: str) -> dict:
    found = resources(templates[stack], resource_type)
    assert found, f"no {resource_type} in {stack}"
    return next(iter(found.values()))


def test_identical_syntheses_have_no_changes(synthesized):
    before = _env_templates(synthesized, "staging")
    summary = summarize("staging", before, copy.deepcopy(before))
    assert summary.changes == []
    assert summary.stacks_compared == [
        "staging-Agent",
        "staging-Foundation",
        "staging-Inference",
        "staging-Mlflow",
        "staging-Network",
        "staging-Observability",
    ]
    assert "No security-relevant changes." in summary.to_markdown()


def test_widened_security_group_rule_is_named_and_broadening(synthesized):
    before = _env_templates(synthesized, "staging")
    after = copy.deepcopy(before)
    rule = next(
        r
        for group in resources(after["staging-Agent"], "AWS::EC2::SecurityGroup").values()
        for r in group["Properties"].get("SecurityGroupIngress", [])
        if r.get("CidrIp") == "10.40.0.0/16"
    )
    rule["CidrIp"] = "10.0.0.0/8"
    summary = summarize("staging", before, after)
    [change] = summary.changes
    assert change.category == "security_groups" and change.broadening and change.stack == "staging-Agent"
    assert "ingress tcp port 443 from 10.0.0.0/8 (widened from 10.40.0.0/16)" in change.message
    assert "[broadening]" in summary.to_markdown()


def test_open_to_the_internet_egress_rule(synthesized):
    before = _env_templates(synthesized, "dev")
    after = copy.deepcopy(before)
    group = _one(after, "dev-Inference", "AWS::EC2::SecurityGroup")
    group["Properties"].setdefault("SecurityGroupEgress", []).append({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"})
    [change] = summarize("dev", before, after).changes
    assert change.message == "egress all all ports to 0.0.0.0/0 added -- open to the internet"


def test_added_iam_statement_and_trust(synthesized):
    before = _env_templates(synthesized, "dev")
    after = copy.deepcopy(before)
    policy = (
        _one(after, "dev-Agent", "AWS::IAM::ManagedPolicy")
        if resources(after["dev-Agent"], "AWS::IAM::ManagedPolicy")
        else _one(after, "dev-Agent", "AWS::IAM::Policy")
    )
    policy["Properties"]["PolicyDocument"]["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    role = _one(after, "dev-Mlflow", "AWS::IAM::Role")
    role["Properties"]["AssumeRolePolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
    )
    changes = summarize("dev", before, after).changes
    messages = [(c.category, c.stack, c.message) for c in changes]
    assert ("iam", "dev-Agent", "policy: + Allow s3:* on *") in [
        (c, s, m.replace("managed policy", "policy")) for c, s, m in messages
    ]
    assert (
        "iam",
        "dev-Mlflow",
        'trust policy: + Allow sts:AssumeRole to {"AWS":"arn:aws:iam::999999999999:root"}',
    ) in messages
    assert all(c.broadening for c in changes)


def test_reordered_actions_are_not_a_change(synthesized):
    before = _env_templates(synthesized, "dev")
    after = copy.deepcopy(before)
    for template in after.values():
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if isinstance(statement.get("Action"), list):
                    statement["Action"].reverse()
    assert summarize("dev", before, after).changes == []


def test_kms_rotation_and_key_policy(synthesized):
    before = _env_templates(synthesized, "prod")
    after = copy.deepcopy(before)
    key = _one(after, "prod-Foundation", "AWS::KMS::Key")
    key["Properties"]["EnableKeyRotation"] = False
    key["Properties"]["KeyPolicy"]["Statement"].append(
        {"Effect": "Allow", "Action": "kms:Decrypt", "Principal": {"AWS": "*"}, "Resource": "*"}
    )
    changes = [c for c in summarize("prod", before, after).changes]
    assert {c.category for c in changes} == {"kms"}
    assert any(c.message == "EnableKeyRotation: true -> false" and c.broadening for c in changes)
    assert any(c.message.startswith("key policy: + Allow kms:Decrypt") for c in changes)


def test_network_paths(synthesized):
    before = _env_templates(synthesized, "dev")
    after = copy.deepcopy(before)
    network = after["dev-Network"]["Resources"]
    network["Igw"] = {"Type": "AWS::EC2::InternetGateway", "Properties": {}}
    network["DefaultRoute"] = {
        "Type": "AWS::EC2::Route",
        "Properties": {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": {"Ref": "Igw"}},
    }
    endpoint_id, _endpoint = next(iter(resources(after["dev-Network"], "AWS::EC2::VPCEndpoint").items()))
    del network[endpoint_id]
    changes = summarize("dev", before, after).changes
    messages = {(c.resource, c.message, c.broadening) for c in changes if c.category == "network"}
    assert ("Igw", "new EC2::InternetGateway", True) in messages
    assert ("DefaultRoute", "new EC2::Route (DestinationCidrBlock=0.0.0.0/0, GatewayId=Ref(Igw))", False) in messages
    assert (endpoint_id, "EC2::VPCEndpoint removed", False) in messages


def test_endpoint_instance_type_and_capacity(synthesized):
    before = _env_templates(synthesized, "staging")
    after = copy.deepcopy(before)
    config = _one(after, "staging-Inference", "AWS::SageMaker::EndpointConfig")
    variant = config["Properties"]["ProductionVariants"][0]
    old_type = variant["InstanceType"]
    variant["InstanceType"] = "ml.p5.48xlarge"
    target = _one(after, "staging-Inference", "AWS::ApplicationAutoScaling::ScalableTarget")
    old_max = target["Properties"]["MaxCapacity"]
    target["Properties"]["MaxCapacity"] = 40
    messages = [c.message for c in summarize("staging", before, after).changes if c.category == "capacity"]
    assert f"InstanceType: {old_type} -> ml.p5.48xlarge" in messages
    assert f"MaxCapacity: {old_max} -> 40" in messages


def test_newly_acknowledged_findings(synthesized):
    before = _env_templates(synthesized, "dev")
    rows = [
        ComplianceRow(
            "AwsSolutions", "AwsSolutions-S1", "dev/Foundation/AccessLogs/Resource", "acknowledged", "log bucket"
        )
    ]
    added = ComplianceRow(
        "AwsSolutions", "AwsSolutions-IAM5[Resource::*]", "dev/Agent/Role/Policy", "acknowledged", "needs all"
    )
    failing = ComplianceRow("Kit", "Kit-RequiredTags[Missing::Owner]", "dev/Agent/Thing", "UNACKNOWLEDGED", "")
    summary = summarize("dev", before, copy.deepcopy(before), rows, [*rows, added, failing])
    assert [(c.resource, c.message) for c in summary.changes] == [
        ("AwsSolutions-IAM5[Resource::*]", "newly acknowledged on dev/Agent/Role/Policy: needs all"),
        ("Kit-RequiredTags[Missing::Owner]", "UNACKNOWLEDGED finding on dev/Agent/Thing (the governance gate fails)"),
    ]
    assert "### Acknowledged governance findings (2)" in summary.to_markdown()


def test_new_and_removed_stacks(synthesized):
    before = _env_templates(synthesized, "dev")
    after = copy.deepcopy(before)
    del after["dev-Agent"]
    summary = summarize("dev", {}, after)
    assert summary.new_stacks == sorted(after) and summary.stacks_compared == []
    summary = summarize("dev", before, after)
    assert summary.removed_stacks == ["dev-Agent"]
    assert any(c.message == "IAM role removed" for c in summary.changes)
