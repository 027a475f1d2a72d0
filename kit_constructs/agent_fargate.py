"""The agent on Fargate: a private service behind an internal Application Load Balancer, over HTTPS only.

Every request carries a bearer token (agent.identity.jwt), so TLS runs end to end as far as the kit
controls it: callers reach `https://<agent.dns.record_name>` (an alias record in a private hosted zone;
the ACM certificate of `agent.certificate_arn` covers it, the listener's policy allows TLS 1.2 and 1.3),
and the load balancer re-encrypts to the tasks, which serve TLS with a certificate each makes at
start-up (AGENT_TLS=self_signed). There is no plain-HTTP listener, not even a redirect: a redirect
answers only after the client has sent its token in clear. Kit-BearerTokensOverTls checks the
synthesized result; the decision and the certificate choices: docs/governance.md.
"""

from __future__ import annotations

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from constructs import Construct

from kit_config.agent_schema import FargateAgent
from kit_constructs.acknowledgments import acknowledge, finding_id
from kit_constructs.agent_compute import AgentAlarmSpec, AgentComputeProps, ApiOutput, runtime_metric

CONTAINER_PORT = 8080
HTTPS_PORT = 443
HEALTH_PATH = "/health"
# TLS 1.3 and 1.2 only (ELBSecurityPolicy-TLS13-1-2-2021-06, ELB's recommended policy): "Security policies for
# your Application Load Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
SSL_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS
# The tasks run on X86_64, so the image is built for linux/amd64 wherever `cdk deploy` runs: without a
# platform, Docker builds for the deploying machine (arm64 on Apple silicon) and the task fails with "exec
# format error" until the circuit breaker rolls back. Enforced by Kit-ImageBuiltForItsRuntime.
CPU_ARCHITECTURE = ecs.CpuArchitecture.X86_64
IMAGE_PLATFORM = ecr_assets.Platform.LINUX_AMD64


class FargateCompute(Construct):
    """An `AgentCompute` (kit_constructs.agent_compute)."""

    def __init__(self, scope: Construct, construct_id: str, props: AgentComputeProps) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        _require_https(config)
        vpc = props.network.vpc
        self._errors_threshold = config.alarms.errors_per_5_minutes
        self.cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)

        self._task_definition(props)

        self.security_group = props.security_group
        self.fargate_service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            # No desired_count: Application Auto Scaling owns the task count (min_tasks..max_tasks; registering the
            # target raises a new service to min_tasks). A DesiredCount in the template is re-applied by every
            # update, so each release would drop a scaled-out service to it ("desiredCount: when updating the
            # service, default uses the current task number", aws-cdk-lib aws_ecs BaseServiceOptions).
            # Enforced for every scalable target by Kit-AutoscaledCapacityRetained.
            min_healthy_percent=100,
            max_healthy_percent=200,
            vpc_subnets=props.network.subnets,
            assign_public_ip=False,
            security_groups=[self.security_group],
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(60),
        )
        self.load_balancer, self.target_group = self._load_balancer(props)
        self.hosted_zone, self.dns_record = self._dns_name(props)
        self._url = config.dns.url
        self._autoscaling(props)

    def _task_definition(self, props: AgentComputeProps) -> None:
        """The task role (the agent's permissions) and the task: one read-only container with a writable /tmp."""
        config = props.config
        self.task_role = iam.Role(
            self,
            "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=f"{props.project} {props.env_name} agent task",
        )
        props.permissions.attach_to_role(self.task_role)
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.cpu,
            memory_limit_mib=config.memory_mb,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=CPU_ARCHITECTURE, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )
        # The root filesystem is read-only; the runtime writes only to /tmp, an ephemeral task volume that the
        # image declares as a VOLUME so its mode (1777) carries over; works on every Fargate platform version.
        self.task_definition.add_volume(name="tmp")
        self.container = self.task_definition.add_container(
            "Agent",
            image=ecs.ContainerImage.from_asset(
                str(props.build_context), file="Dockerfile", ignore_mode=IgnoreMode.DOCKER, platform=IMAGE_PLATFORM
            ),
            user="10001",
            readonly_root_filesystem=True,
            # Kit-EcsWritableScratch: HOME and TMPDIR inside the writable /tmp volume (the image sets them too;
            # the task states them so the template shows where the runtime writes).
            environment={**props.environment, "HOME": "/tmp", "TMPDIR": "/tmp"},
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="agent", log_group=props.log_group.log_group),
            stop_timeout=Duration.seconds(35),  # uvicorn drains in-flight requests for 30 s on SIGTERM
        )
        self.container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))
        self._acknowledge_task()

    def _acknowledge_task(self) -> None:
        """The task's plain environment, and CDK's own grants to the execution role."""
        acknowledge(
            self.task_definition,
            {
                finding_id("AwsSolutions-ECS2"): (
                    "The variables are the runtime's non-secret settings (endpoint name, limits, bucket "
                    "name, the caller-id key's ARN, the identity provider's public JWKS); AWS access comes "
                    "from the task role, and no credential or private key is in the environment."
                ),
            },
        )
        acknowledge(
            self.task_definition.obtain_execution_role(),
            {
                finding_id("HIPAA.Security-IAMNoInlinePolicy"): (
                    "CDK's own grants for the execution role: image pull from the asset "
                    "repository and log writes to this service's log group, both ARN-scoped."
                ),
                finding_id("NIST.800.53.R5-IAMNoInlinePolicy"): (
                    "CDK's own grants for the execution role: image pull from the asset "
                    "repository and log writes to this service's log group, both ARN-scoped."
                ),
                finding_id("AwsSolutions-IAM5", "Resource", "*"): (
                    "ecr:GetAuthorizationToken, granted by CDK for the image pull, supports no "
                    "resource-level permission."
                ),
            },
        )

    def _autoscaling(self, props: AgentComputeProps) -> None:
        """Between min_tasks and max_tasks on CPU and on the tasks' mean sessions in flight."""
        config = props.config
        scaling = self.fargate_service.auto_scale_task_count(
            min_capacity=config.min_tasks, max_capacity=config.max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=config.cpu_target_percent,
            scale_in_cooldown=Duration.seconds(300),
            scale_out_cooldown=Duration.seconds(60),
        )
        # Sessions in flight per task, from the same number that bounds a task (max_concurrent_sessions):
        # the mean of every task's ConcurrentSessions gauge (agent_runtime.concurrency), which halves when
        # the tasks double, as target tracking needs
        # (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html).
        # Not ALBRequestCountPerTarget: requests per minute track sessions only at a fixed turn length,
        # and agent turns last from one to many seconds. Not ActiveConnectionCount: it is per load
        # balancer, not per target, and counts idle keep-alive connections
        # (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
        sessions = runtime_metric(props.env_name, "ConcurrentSessions", "Average", period=Duration.minutes(1))
        scaling.scale_to_track_custom_metric(
            "Sessions",
            metric=sessions,
            target_value=config.sessions_scaling_target,
            scale_in_cooldown=Duration.seconds(300),
            scale_out_cooldown=Duration.seconds(60),
        )

    def _load_balancer(self, props: AgentComputeProps):
        config = props.config
        alb_group = self._load_balancer_security_group(props, HTTPS_PORT)
        retained = props.removal_policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=props.network.vpc,
            internet_facing=False,
            vpc_subnets=props.network.subnets,
            security_group=alb_group,
            drop_invalid_header_fields=True,
            deletion_protection=retained,
            # The tasks' keep-alive (AGENT_KEEP_ALIVE_SECONDS) is derived from the same number, above it
            # (FargateAgent.keep_alive_seconds; checked by Kit-KeepAliveExceedsIdleTimeout).
            idle_timeout=Duration.seconds(config.load_balancer_idle_timeout_seconds),
        )
        alb.log_access_logs(props.access_logs.bucket, prefix=f"{props.env_name}-agent-alb")
        listener = self._listener(alb, config.certificate_arn)
        acknowledge(
            alb,
            {
                finding_id("NIST.800.53.R5-ALBWAFEnabled"): (
                    "Internal load balancer in an isolated VPC with no internet path, reachable "
                    "only from the configured security groups or CIDRs; the agent validates and "
                    "size-limits every request."
                ),
            },
        )
        return alb, self._targets(listener)

    def _load_balancer_security_group(self, props: AgentComputeProps, port: int) -> ec2.SecurityGroup:
        """Ingress from the configured callers only (agent.ingress_*)."""
        config = props.config
        alb_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=props.network.vpc,
            allow_all_outbound=False,
            description=f"{props.project} {props.env_name} agent load balancer: configured callers only",
        )
        for index, group_id in enumerate(config.ingress_security_group_ids):
            caller = ec2.SecurityGroup.from_security_group_id(self, f"Caller{index}", group_id, mutable=False)
            alb_group.add_ingress_rule(caller, ec2.Port.tcp(port), f"agent callers {group_id}")
        for cidr in config.ingress_cidrs:
            alb_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(port), f"agent callers {cidr}")
        return alb_group

    def _listener(self, alb: elbv2.ApplicationLoadBalancer, certificate_arn: str) -> elbv2.ApplicationListener:
        """HTTPS with the configured certificate; the only listener (no port 80, not even a redirect)."""
        return alb.add_listener(
            "Https",
            port=HTTPS_PORT,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            open=False,
            certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
            ssl_policy=SSL_POLICY,
        )

    def _targets(self, listener: elbv2.ApplicationListener) -> elbv2.ApplicationTargetGroup:
        """The service's tasks, least outstanding requests first, health-checked."""
        return listener.add_targets(
            "Agent",
            port=CONTAINER_PORT,
            # Re-encrypted to the task, which serves TLS with its own certificate (AGENT_TLS=self_signed): the load
            # balancer "does not validate these certificates", and the bearer token stays encrypted on this hop too
            # (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-routing-configuration).
            protocol=elbv2.ApplicationProtocol.HTTPS,
            targets=[self.fargate_service],
            deregistration_delay=Duration.seconds(30),
            # Each request to the task with the fewest in flight: a task near its session limit gets no more
            # while others have room (round robin would keep sending it its share, to answer 503).
            # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#modify-routing-algorithm
            load_balancing_algorithm_type=elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTPS,
                path=HEALTH_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )

    def _dns_name(self, props: AgentComputeProps) -> tuple[route53.IHostedZone, route53.ARecord]:
        """The name callers connect to (and verify the certificate against): an alias record to the load balancer
        in a private hosted zone: the configured one, or one created for `zone_name` in the agent's VPC."""
        dns = props.config.dns
        if dns.hosted_zone_id:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "HostedZone", hosted_zone_id=dns.hosted_zone_id, zone_name=dns.zone_name
            )
        else:
            zone = route53.PrivateHostedZone(
                self,
                "HostedZone",
                zone_name=dns.zone_name,
                vpc=props.network.vpc,
                comment=f"{props.project} {props.env_name} agent: private names in the agent's VPC",
            )
        record = route53.ARecord(
            self,
            "AgentName",
            zone=zone,
            record_name=dns.record_name,
            target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.load_balancer)),
            comment="The agent's internal load balancer; its certificate covers this name",
        )
        return zone, record

    @property
    def api_output(self) -> ApiOutput:
        return ApiOutput(
            "AgentUrl",
            self._url,
            "Agent API: HTTPS at the agent's private DNS name, from the configured callers only",
        )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        # Callers are admitted by security group or CIDR (agent.ingress_*), so there is no IAM grant here.
        return iam.Grant.drop(grantee, "call the agent (admitted by the load balancer's security group)")

    def host_alarms(self) -> list[AgentAlarmSpec]:
        five_minutes = Duration.minutes(5)
        target_5xx = self.load_balancer.metrics.http_code_target(
            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=five_minutes, statistic="Sum"
        )
        # The load balancer's own 5XX, which HTTPCode_Target_5XX_Count does not count: 502 (a target closed the
        # connection, e.g. a keep-alive shorter than the idle timeout), 503 (no healthy target), 504 (no answer
        # within the idle timeout). The agent answers its own errors, so any of these is an outage or a
        # misconfiguration ("CloudWatch metrics for your Application Load Balancer",
        # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
        elb_5xx = self.load_balancer.metrics.http_code_elb(
            elbv2.HttpCodeElb.ELB_5XX_COUNT, period=five_minutes, statistic="Sum"
        )
        return [
            AgentAlarmSpec(
                "LoadBalancer5xx",
                target_5xx,
                self._errors_threshold,
                "the agent's tasks answered 5XX through the load balancer",
            ),
            AgentAlarmSpec(
                "LoadBalancerElb5xx",
                elb_5xx,
                0,
                "the load balancer itself answered 5XX (502: a task closed a connection; 503: no healthy task; "
                "504: no answer within the idle timeout)",
            ),
        ]


def _require_https(config: FargateAgent) -> None:
    """FargateAgent's config check, again for objects built without validation (model_construct)."""
    if config.certificate_arn is None or config.dns is None:
        raise ValueError(
            "a Fargate agent verifies bearer tokens and is served over HTTPS only: set certificate_arn and dns "
            "(kit_config.agent_schema.FargateAgent)"
        )
