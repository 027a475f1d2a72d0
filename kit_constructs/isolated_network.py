"""An isolated VPC: no internet or NAT gateway, PrivateLink for every AWS service the kit uses.

Either creates the VPC or adopts an existing one from ids given in config (no lookup, so synth
needs no credentials). Consumers receive typed objects (`vpc`, `subnets`, `endpoints[...]`)
and call `allow_endpoint_access(security_group)` instead of writing security-group rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from kit_config.schema import CreateVpc, ExistingVpc
from kit_constructs.acknowledgments import acknowledge, finding_id
from kit_constructs.encrypted_log_group import EncryptedLogGroup, EncryptedLogGroupProps

HTTPS = ec2.Port.tcp(443)


class AwsService(enum.Enum):
    """The interface endpoints the kit's stacks need, by the service they reach."""

    SAGEMAKER_API = ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API
    SAGEMAKER_RUNTIME = ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME
    MLFLOW_EXPERIMENTS = ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_EXPERIMENTS
    STS = ec2.InterfaceVpcEndpointAwsService.STS
    CLOUDWATCH_LOGS = ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS
    CLOUDWATCH_MONITORING = ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING
    ECR_API = ec2.InterfaceVpcEndpointAwsService.ECR
    ECR_DOCKER = ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER
    KMS = ec2.InterfaceVpcEndpointAwsService.KMS


# Config names (kit_config.schema.INTERFACE_ENDPOINT_SERVICES) of the services above.
SERVICE_KEYS = {
    "sagemaker.api": AwsService.SAGEMAKER_API,
    "sagemaker.runtime": AwsService.SAGEMAKER_RUNTIME,
    "experiments": AwsService.MLFLOW_EXPERIMENTS,
    "sts": AwsService.STS,
    "logs": AwsService.CLOUDWATCH_LOGS,
    "monitoring": AwsService.CLOUDWATCH_MONITORING,
    "ecr.api": AwsService.ECR_API,
    "ecr.dkr": AwsService.ECR_DOCKER,
    "kms": AwsService.KMS,
}


@dataclass(frozen=True)
class IsolatedNetworkProps:
    network: CreateVpc | ExistingVpc
    availability_zones: list[str]
    vpc_cidr: str
    flow_log_key: kms.IKey
    log_retention_days: int
    removal_policy: RemovalPolicy
    s3_prefix_list_id: str


class IsolatedNetwork(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: IsolatedNetworkProps) -> None:
        super().__init__(scope, construct_id)
        self._s3_prefix_list = ec2.Peer.prefix_list(props.s3_prefix_list_id)
        self.vpc = self._vpc(props)
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        # The VPC CIDR comes from config as a literal, so nag rules can evaluate the rule
        # (a token here makes AwsSolutions-EC23 fail with "rule threw an error").
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(props.vpc_cidr), HTTPS, "HTTPS from the VPC to AWS service endpoints"
        )
        # Endpoints the VPC already has are reused, not created again (a second private-DNS endpoint for a
        # service, or a second S3 gateway route, fails to create): ExistingVpc.existing_endpoints.
        existing = props.network.existing_endpoints if isinstance(props.network, ExistingVpc) else None
        reused = {SERVICE_KEYS[key] for key in existing.services} if existing else set()
        self._existing_endpoint_groups = [
            ec2.SecurityGroup.from_security_group_id(self, f"ExistingEndpoints{index}", group_id, mutable=False)
            for index, group_id in enumerate(existing.security_group_ids if existing else [])
        ]
        self.endpoints: dict[AwsService, ec2.InterfaceVpcEndpoint] = {
            service: ec2.InterfaceVpcEndpoint(
                self,
                f"{service.name.title().replace('_', '')}Endpoint",
                vpc=self.vpc,
                service=service.value,
                subnets=self.subnets,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,  # we manage the security group ourselves (see above)
            )
            for service in AwsService
            if service not in reused
        }
        self.s3_endpoint = (
            None
            if existing and existing.s3_gateway
            else ec2.GatewayVpcEndpoint(
                self,
                "S3GatewayEndpoint",
                vpc=self.vpc,
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[self.subnets],
            )
        )
        self.flow_logs = self._flow_logs(props)

    def allow_endpoint_access(self, security_group: ec2.ISecurityGroup) -> None:
        """Let `security_group` reach the AWS service endpoints over HTTPS (egress rule)."""
        security_group.connections.allow_to(self.endpoint_security_group, HTTPS, "HTTPS to AWS service endpoints")
        for group in self._existing_endpoint_groups:
            security_group.add_egress_rule(
                ec2.Peer.security_group_id(group.security_group_id),
                HTTPS,
                "HTTPS to the VPC's existing AWS service endpoints",
            )

    def allow_s3_access(self, security_group: ec2.ISecurityGroup) -> None:
        """Let `security_group` reach S3 over HTTPS through the gateway endpoint (egress rule)."""
        security_group.add_egress_rule(self._s3_prefix_list, HTTPS, "HTTPS to S3 via the gateway endpoint")

    def _vpc(self, props: IsolatedNetworkProps) -> ec2.IVpc:
        network = props.network
        if isinstance(network, ExistingVpc):
            return ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=network.vpc_id,
                vpc_cidr_block=network.vpc_cidr,
                availability_zones=network.availability_zones,
                isolated_subnet_ids=network.subnet_ids,
                isolated_subnet_route_table_ids=network.route_table_ids,
            )
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(network.cidr),
            availability_zones=props.availability_zones,
            nat_gateways=0,
            create_internet_gateway=False,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=network.subnet_prefix_length,
                )
            ],
            # Removes every rule from the VPC's default security group (a custom resource).
            restrict_default_security_group=True,
        )

    def _flow_logs(self, props: IsolatedNetworkProps) -> EncryptedLogGroup:
        stack = Stack.of(self)
        log_group = EncryptedLogGroup(
            self,
            "FlowLogs",
            EncryptedLogGroupProps(
                key=props.flow_log_key,
                retention_days=props.log_retention_days,
                removal_policy=props.removal_policy,
            ),
        )
        # A customer-managed policy (not CDK's inline default policy) scoped to this log group,
        # and a trust policy limited to this account's flow logs (confused-deputy protection).
        role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:vpc-flow-log/*"
                    },
                },
            ),
            description="VPC flow logs delivery to the encrypted flow-log group",
        )
        delivery = iam.ManagedPolicy(
            self,
            "FlowLogDelivery",
            description="Write VPC flow logs to this network's flow-log group only",
            # The minimum AWS lists for flow-log delivery: CreateLogGroup, CreateLogStream, PutLogEvents,
            # DescribeLogGroups, DescribeLogStreams (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-cwl.html).
            statements=[
                # On this log group (it exists before the flow log, so CreateLogGroup only finds it).
                iam.PolicyStatement(
                    sid="ThisLogGroup",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[log_group.log_group_arn],
                ),
                # DescribeLogGroups supports no resource-level permission (Service Authorization
                # Reference, CloudWatch Logs: no resource type), so only "*" grants it; on the log
                # group's ARN it granted nothing (Kit-IamMatchesServiceReference).
                iam.PolicyStatement(sid="ListLogGroups", actions=["logs:DescribeLogGroups"], resources=["*"]),
            ],
        )
        role.add_managed_policy(delivery)
        acknowledge(
            delivery,
            {
                finding_id("AwsSolutions-IAM5", "Resource", "*"): (
                    "Only logs:DescribeLogGroups is on '*': it supports no resource-level permission "
                    "(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html) "
                    "and VPC flow-log delivery lists it as required; it reads log group names and settings, no log data."
                ),
            },
        )
        ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            # without_policy_updates: CDK must not add its own inline grants to this role.
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group.log_group, role.without_policy_updates()),
        )
        return log_group
