"""The agent on Lambda: a container-image function in the isolated subnets, behind an IAM-only Function URL."""

from __future__ import annotations

from aws_cdk import Duration, IgnoreMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from kit_constructs.acknowledgments import acknowledge, finding_id
from kit_constructs.agent_compute import AgentAlarmSpec, AgentComputeProps, ApiOutput


class LambdaCompute(Construct):
    """An `AgentCompute` (kit_constructs.agent_compute)."""

    def __init__(self, scope: Construct, construct_id: str, props: AgentComputeProps) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        self.role = self._role(props)
        self.function = self._function(props)
        self._acknowledge_function(config)
        # IAM-authenticated only: Lambda verifies the SigV4 signature and puts the principal in the event
        # (requestContext.authorizer.iam), which the runtime takes as the caller (AGENT_AUTH_MODE=iam).
        # Mangum buffers responses, so the URL uses BUFFERED invoke mode.
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)

    def _role(self, props: AgentComputeProps) -> iam.Role:
        """The agent's permissions, log writes, and the ENI management Lambda needs in a VPC."""
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{props.project} {props.env_name} agent function",
        )
        props.permissions.attach_to_role(role)
        props.log_group.grant_write(props.permissions)
        # Lambda decrypts the environment variables as the execution role at every cold start; without this the
        # function fails to start (KMSAccessDeniedException). CDK passes environment_encryption's key to
        # CloudFormation only and grants nothing. The key's policy admits its use through Lambda only.
        props.environment_key.grant_decrypt(props.permissions)
        # ENI management for a function in a VPC; Lambda checks for exactly these actions.
        vpc_access = iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
        role.add_managed_policy(vpc_access)
        acknowledge(
            role,
            {
                finding_id(
                    "AwsSolutions-IAM4",
                    "Policy",
                    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
                ): "Lambda needs ec2:CreateNetworkInterface/Describe/Delete to place the function in the isolated "
                "subnets; these actions take no resource scoping at creation, and Lambda validates this policy.",
            },
        )
        return role

    def _function(self, props: AgentComputeProps) -> lambda_.DockerImageFunction:
        """The runtime image in the isolated subnets, with the AGENT_* environment."""
        config = props.config
        function = lambda_.DockerImageFunction(
            self,
            "Function",
            description=f"{props.project} {props.env_name} support-triage agent",
            code=lambda_.DockerImageCode.from_image_asset(
                str(props.build_context),
                file="Dockerfile",
                ignore_mode=IgnoreMode.DOCKER,  # .dockerignore: only agent_runtime/ is staged
                entrypoint=["python", "-m", "awslambdaric"],
                cmd=["agent_runtime.lambda_handler.handler"],
            ),
            role=self.role,
            vpc=props.network.vpc,
            vpc_subnets=props.network.subnets,
            security_groups=[props.security_group],
            memory_size=config.memory_mb,
            timeout=Duration.seconds(config.timeout_seconds),
            # Lambda runs each concurrent request in its own execution environment
            # (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html), so the runtime serves one
            # session per environment (AGENT_MAX_CONCURRENT_SESSIONS=1) and the reservation, when set, is the most
            # sessions the agent answers at once; beyond it Lambda throttles (the ConcurrencyThrottles alarm).
            reserved_concurrent_executions=config.reserved_concurrency,
            environment=dict(props.environment),
            # The environment's own key, not the AWS managed aws/lambda key: rotated, audited and disabled with the
            # environment's other keys (Kit-LambdaEnvironmentCustomerKey).
            environment_encryption=props.environment_key,
            log_group=props.log_group.log_group,
            architecture=lambda_.Architecture.X86_64,
        )
        function.node.add_dependency(props.permissions)
        return function

    def _acknowledge_function(self, config) -> None:
        no_async = (
            "Invoked synchronously through its Function URL only; there are no asynchronous events that a "
            "dead-letter queue could keep."
        )
        acknowledge(
            self.function,
            {finding_id("HIPAA.Security-LambdaDLQ"): no_async, finding_id("NIST.800.53.R5-LambdaDLQ"): no_async},
        )
        if config.reserved_concurrency is None:
            shared = (
                "No reserved concurrency: a new account's Lambda concurrency quota can be 10 with 100 kept "
                "unreserved, where any reservation fails the deployment; the function shares the account's "
                "unreserved pool and the ConcurrencyThrottles alarm reports throttling (agent.reserved_concurrency)."
            )
            acknowledge(
                self.function,
                {
                    finding_id("HIPAA.Security-LambdaConcurrency"): shared,
                    finding_id("NIST.800.53.R5-LambdaConcurrency"): shared,
                },
            )

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Call the agent through its Function URL (SigV4-signed requests)."""
        return self.function.grant_invoke_url(grantee)

    @property
    def api_output(self) -> ApiOutput:
        return ApiOutput("FunctionUrl", self.url.url, "Agent API (SigV4 / AWS_IAM auth only)")

    def host_alarms(self) -> list[AgentAlarmSpec]:
        return [
            AgentAlarmSpec(
                "ConcurrencyThrottles",
                self.function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
                0,
                "Lambda throttled invocations (reserved concurrency or the account's unreserved pool exhausted)",
            )
        ]
