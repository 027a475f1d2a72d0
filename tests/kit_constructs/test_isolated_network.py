"""The isolated network: no internet path, PrivateLink endpoints, tight endpoint SG, flow logs."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ENVIRONMENTS, only, resources

pytestmark = pytest.mark.synth

AWS_SERVICES = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "monitoring", "ecr.api", "ecr.dkr", "kms")


def service_name(endpoint: dict, region: str) -> str:
    """The endpoint's service name with CDK's `Fn::Join` of `AWS::Region` resolved."""
    name = endpoint["Properties"]["ServiceName"]
    if isinstance(name, dict):
        name = "".join(region if part == {"Ref": "AWS::Region"} else part for part in name["Fn::Join"][1])
    return name


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_created_vpc_has_no_path_to_the_internet(synthesized, env):
    template = synthesized.templates[(env, "Network")]
    config = synthesized.configs[env]
    for forbidden in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
    ):
        assert resources(template, forbidden) == {}, forbidden
    vpc = only(resources(template, "AWS::EC2::VPC"))["Properties"]
    assert vpc["CidrBlock"] == config.network.cidr
    subnets = resources(template, "AWS::EC2::Subnet").values()
    assert sorted(s["Properties"]["AvailabilityZone"] for s in subnets) == config.availability_zones
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    assert {s["Properties"]["CidrBlock"].split("/")[1] for s in subnets} == {"20"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_service_the_kit_needs_has_a_private_endpoint(synthesized, env):
    template = synthesized.templates[(env, "Network")]
    region = synthesized.configs[env].region
    endpoints = resources(template, "AWS::EC2::VPCEndpoint").values()
    interface = [e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Interface"]
    gateway = [e for e in endpoints if e["Properties"]["VpcEndpointType"] == "Gateway"]
    assert sorted(service_name(e, region) for e in interface) == sorted(
        [f"com.amazonaws.{region}.{service}" for service in AWS_SERVICES]
        + [f"aws.sagemaker.{region}.experiments"]  # MLflow's own service namespace
    )
    [endpoint_sg] = resources(template, "AWS::EC2::SecurityGroup")
    for endpoint in interface:
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert endpoint["Properties"]["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoint_sg, "GroupId"]}]
        assert len(endpoint["Properties"]["SubnetIds"]) == len(synthesized.configs[env].availability_zones)
    [s3] = gateway
    assert service_name(s3, region) == f"com.amazonaws.{region}.s3"
    assert len(s3["Properties"]["RouteTableIds"]) == len(synthesized.configs[env].availability_zones)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_endpoint_security_group_allows_only_https_from_the_vpc(synthesized, env):
    group = only(resources(synthesized.templates[(env, "Network")], "AWS::EC2::SecurityGroup"))["Properties"]
    assert [
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["CidrIp"]) for rule in group["SecurityGroupIngress"]
    ] == [("tcp", 443, 443, synthesized.configs[env].vpc_cidr)]
    # allow_all_outbound=False renders CDK's "disallow all" placeholder and nothing else.
    assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["255.255.255.255/32"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_logs_go_to_an_encrypted_log_group_kept_for_the_env_retention(synthesized, env):
    template = synthesized.templates[(env, "Network")]
    config = synthesized.configs[env]
    flow_log = only(resources(template, "AWS::EC2::FlowLog"))["Properties"]
    log_group_id, log_group = next(iter(resources(template, "AWS::Logs::LogGroup").items()))
    assert (flow_log["ResourceType"], flow_log["TrafficType"], flow_log["LogDestinationType"]) == (
        "VPC",
        "ALL",
        "cloud-watch-logs",
    )
    assert flow_log["LogGroupName"] == {"Ref": log_group_id}
    assert log_group["Properties"]["RetentionInDays"] == config.log_retention_days
    # The Foundation stack's logs key, by cross-stack reference.
    assert "KeysLogs" in json.dumps(log_group["Properties"]["KmsKeyId"])
    if config.network.mode == "existing":
        assert flow_log["ResourceId"] == config.network.vpc_id


def test_flow_log_role_is_scoped_to_its_log_group_and_account(synthesized):
    template = synthesized.templates[("dev", "Network")]
    [log_group_id] = resources(template, "AWS::Logs::LogGroup")
    assert resources(template, "AWS::IAM::Policy") == {}  # no inline policies
    policy = only(resources(template, "AWS::IAM::ManagedPolicy"))["Properties"]["PolicyDocument"]["Statement"]
    # DescribeLogGroups supports no resource-level permission: on the group's ARN it granted nothing
    # (Kit-IamMatchesServiceReference), so it has its own statement on "*".
    assert policy == [
        {
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
            "Sid": "ThisLogGroup",
        },
        {"Action": "logs:DescribeLogGroups", "Effect": "Allow", "Resource": "*", "Sid": "ListLogGroups"},
    ]
    role = next(
        r
        for r in resources(template, "AWS::IAM::Role").values()
        if "ManagedPolicyArns" in r["Properties"]
        and "vpc-flow-logs" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    )
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "111111111111"}
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:ec2:us-east-1:111111111111:vpc-flow-log/*"}


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_default_security_group_of_a_created_vpc_is_restricted(synthesized, env):
    template = synthesized.templates[(env, "Network")]
    [vpc_id] = resources(template, "AWS::EC2::VPC")
    restrict = only(resources(template, "Custom::VpcRestrictDefaultSG"))["Properties"]
    assert restrict["DefaultSecurityGroupId"] == {"Fn::GetAtt": [vpc_id, "DefaultSecurityGroup"]}


def test_existing_vpc_is_adopted_by_id_without_creating_network_resources(synthesized):
    template = synthesized.templates[("prod", "Network")]
    network = synthesized.configs["prod"].network
    for created in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "Custom::VpcRestrictDefaultSG"):
        assert resources(template, created) == {}, created
    for endpoint in resources(template, "AWS::EC2::VPCEndpoint").values():
        assert endpoint["Properties"]["VpcId"] == network.vpc_id
        ids = endpoint["Properties"].get("SubnetIds") or endpoint["Properties"]["RouteTableIds"]
        assert sorted(ids) in (sorted(network.subnet_ids), sorted(network.route_table_ids))


def _existing_network(existing: dict):
    """An IsolatedNetwork over prod's existing VPC with `existing_endpoints` from config, and a workload SG."""
    from aws_cdk import App, Environment, RemovalPolicy, Stack
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms
    from aws_cdk.assertions import Template

    from kit_config import load_environment
    from kit_config.schema import ExistingVpc
    from kit_constructs.isolated_network import IsolatedNetwork, IsolatedNetworkProps

    config = load_environment("prod")
    network = ExistingVpc.model_validate({**config.network.model_dump(), "existing_endpoints": existing})
    stack = Stack(App(), "Net", env=Environment(account="123456789012", region="us-west-2"))
    isolated = IsolatedNetwork(
        stack,
        "Network",
        IsolatedNetworkProps(
            network=network,
            availability_zones=config.availability_zones,
            vpc_cidr=config.vpc_cidr,
            flow_log_key=kms.Key(stack, "Key"),
            log_retention_days=30,
            removal_policy=RemovalPolicy.DESTROY,
            s3_prefix_list_id=network.s3_prefix_list_id,
        ),
    )
    workload = ec2.SecurityGroup(stack, "Workload", vpc=isolated.vpc, allow_all_outbound=False)
    isolated.allow_endpoint_access(workload)
    return Template.from_stack(stack).to_json(), stack.get_logical_id(workload.node.default_child)


def test_existing_endpoints_are_reused_not_created_again():
    template, workload = _existing_network(
        {"services": ["sts", "logs", "kms"], "security_group_ids": ["sg-0aaaabbbbccccdddd"], "s3_gateway": True}
    )
    endpoints = resources(template, "AWS::EC2::VPCEndpoint").values()
    created = {service_name(e, "us-west-2").rsplit(".", 1)[-1] for e in endpoints}
    assert not {"sts", "logs", "kms", "s3"} & created, created
    assert {"runtime", "api", "experiments", "monitoring", "dkr"} <= created
    egress = template["Resources"][workload]["Properties"]["SecurityGroupEgress"]
    assert {
        "DestinationSecurityGroupId": "sg-0aaaabbbbccccdddd",
        "FromPort": 443,
        "ToPort": 443,
        "IpProtocol": "tcp",
        "Description": "HTTPS to the VPC's existing AWS service endpoints",
    } in egress


def test_without_existing_endpoints_every_endpoint_is_created():
    template, _ = _existing_network({})
    assert len(resources(template, "AWS::EC2::VPCEndpoint")) == len(AWS_SERVICES) + 2  # + experiments + S3 gateway
