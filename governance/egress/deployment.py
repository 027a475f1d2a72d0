"""What one environment deploys, read from its synthesized templates: the agent's host and the
environment variables its stack sets, the MLflow resource, and the network's private routes.

Values CloudFormation fills in at deploy time (a bucket's generated name, an ARN) are tokens in the
template; `resolve()` replaces each with a value of the shape AWS gives it, built from the resource
the token points at (an MLflow App's ARN is `mlflow-app/<id>`, a tracking server's
`mlflow-tracking-server/<name>`). A token of a kind it does not know is an error, not a guess.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from kit_config.schema import INTERFACE_ENDPOINT_SERVICES, EnvironmentConfig, ExistingVpc

Templates = Mapping[tuple[str, str], dict]  # (environment, stack id) -> template (tests/conftest.py)

# Credentials stand-in for the probe's calls: what the host's credential source would have returned.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEGRESSPROBE00000",
    "AWS_SECRET_ACCESS_KEY": "egress-probe-secret-key-not-a-real-one",
    "AWS_SESSION_TOKEN": "egress-probe-session-token",
}


def partition_of(region: str) -> tuple[str, str]:
    """(partition, DNS suffix) of a region, from botocore's partition data (endpoints.json)."""
    import botocore.session

    session = botocore.session.get_session()
    partition = session.get_partition_for_region(region)
    data = session.get_data("endpoints")
    suffix = next(p["dnsSuffix"] for p in data["partitions"] if p["partition"] == partition)
    return partition, suffix


@dataclass(frozen=True)
class InterfaceEndpoint:
    service_name: str  # e.g. com.amazonaws.us-east-1.sagemaker.runtime
    private_dns: bool
    origin: str  # "template" or "existing VPC (config)"


@dataclass(frozen=True)
class NetworkRoutes:
    """The private routes an environment's network gives its workloads."""

    interface_endpoints: tuple[InterfaceEndpoint, ...]
    s3_gateway: bool


@dataclass(frozen=True)
class AgentDeployment:
    config: EnvironmentConfig
    templates: Templates

    @property
    def name(self) -> str:
        return self.config.name

    @cached_property
    def partition(self) -> tuple[str, str]:
        return partition_of(self.config.region)

    def template(self, stack: str) -> dict:
        return self.templates[(self.name, stack)]

    # -- the agent ------------------------------------------------------------------------------

    @cached_property
    def host(self) -> str:
        """lambda | fargate: the resource in the Agent stack that carries the agent's variables."""
        return self._agent_resource[0]

    @cached_property
    def _agent_resource(self) -> tuple[str, dict]:
        found = []
        for resource in self.template("Agent")["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                variables = resource["Properties"].get("Environment", {}).get("Variables", {})
                if "AGENT_ENDPOINT_NAME" in variables:
                    found.append(("lambda", {"variables": variables, "resource": resource}))
            elif resource["Type"] == "AWS::ECS::TaskDefinition":
                for container in resource["Properties"]["ContainerDefinitions"]:
                    variables = {item["Name"]: item["Value"] for item in container.get("Environment", [])}
                    if "AGENT_ENDPOINT_NAME" in variables:
                        found.append(("fargate", {"variables": variables, "container": container}))
        if len(found) != 1:
            raise ValueError(
                f"{self.name}/Agent: expected one agent (Lambda function or container), found {len(found)}"
            )
        return found[0]

    @cached_property
    def agent_environment(self) -> dict[str, str]:
        """The AGENT_* (and other) variables the stack sets, tokens resolved."""
        return {key: self.resolve("Agent", value) for key, value in self._agent_resource[1]["variables"].items()}

    @property
    def container_image(self) -> str | None:
        container = self._agent_resource[1].get("container")
        return self.resolve("Agent", container["Image"]) if container else None

    @property
    def container_log_options(self) -> dict[str, str] | None:
        """The awslogs driver's options (None: no awslogs driver, or no container)."""
        container = self._agent_resource[1].get("container") or {}
        logging = container.get("LogConfiguration") or {}
        if logging.get("LogDriver") != "awslogs":
            return None
        return dict(logging.get("Options", {}))  # the region is a literal; the group a token

    def host_environment(self) -> dict[str, str]:
        """The variables the compute service sets in the agent's process, with fake credentials.

        Lambda: AWS_REGION, AWS_DEFAULT_REGION and the function role's credentials as variables
        (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
        Fargate: AWS_REGION, AWS_DEFAULT_REGION, and the task role's credentials served at
        169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
        (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
        """
        region = {"AWS_REGION": self.config.region, "AWS_DEFAULT_REGION": self.config.region}
        if self.host == "lambda":
            return {**region, **FAKE_CREDENTIALS, "AWS_LAMBDA_FUNCTION_NAME": f"{self.name}-agent"}
        return {**region, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/egress-probe"}

    def run_probe(self, tasks: list[str], *, stand_in_credentials: bool, base_environment: Mapping[str, str]) -> dict:
        """`python -m governance.egress.probe TASK...` in the deployed environment (nothing else of
        this process's environment but PATH-like basics from `base_environment`)."""
        environment = {
            **base_environment,
            **self.host_environment(),
            **self.agent_environment,
            "EGRESS_PROBE_ARTIFACT_STORE_URI": self.artifact_store_uri,
        }
        if stand_in_credentials:
            environment.update(FAKE_CREDENTIALS)
        result = subprocess.run(
            [sys.executable, "-m", "governance.egress.probe", *tasks],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"egress probe failed ({self.name}): {result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    # -- MLflow ---------------------------------------------------------------------------------

    @cached_property
    def _mlflow_resource(self) -> dict:
        kinds = ("AWS::SageMaker::MlflowTrackingServer", "AWS::SageMaker::MlflowApp")
        [resource] = [r for r in self.template("Mlflow")["Resources"].values() if r["Type"] in kinds]
        return resource

    @property
    def tracking_uri(self) -> str:
        return self.agent_environment["AGENT_MLFLOW_TRACKING_URI"]

    @property
    def artifact_store_uri(self) -> str:
        return self.resolve("Mlflow", self._mlflow_resource["Properties"]["ArtifactStoreUri"])

    # -- network --------------------------------------------------------------------------------

    @cached_property
    def network(self) -> NetworkRoutes:
        endpoints, gateway = [], False
        for resource in self.template("Network")["Resources"].values():
            if resource["Type"] != "AWS::EC2::VPCEndpoint":
                continue
            properties = resource["Properties"]
            service = self.resolve("Network", properties["ServiceName"])
            if properties.get("VpcEndpointType") == "Gateway":
                gateway = gateway or service == f"com.amazonaws.{self.config.region}.s3"
            else:
                endpoints.append(InterfaceEndpoint(service, bool(properties.get("PrivateDnsEnabled")), "template"))
        network = self.config.network
        if isinstance(network, ExistingVpc):  # reused, not created: ExistingEndpoints says they have private DNS
            existing = network.existing_endpoints
            endpoints += [
                InterfaceEndpoint(interface_service_name(key, self.config.region), True, "existing VPC (config)")
                for key in existing.services
            ]
            gateway = gateway or existing.s3_gateway
        return NetworkRoutes(tuple(endpoints), gateway)

    # -- tokens ---------------------------------------------------------------------------------

    def resolve(self, stack: str, value: object) -> str:
        if isinstance(value, str):
            return value
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"{self.name}/{stack}: cannot resolve {value!r}")
        [(function, argument)] = value.items()
        template = self.template(stack)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self.resolve(stack, part) for part in parts)
        if function == "Fn::Sub" and isinstance(argument, str):
            for name, pseudo in self._pseudo_parameters.items():
                argument = argument.replace("${" + name + "}", pseudo)
            if "${" in argument:
                raise ValueError(f"{self.name}/{stack}: cannot resolve {value!r}")
            return argument
        if function == "Ref":
            if argument in self._pseudo_parameters:
                return self._pseudo_parameters[argument]
            return self._placeholder(stack, argument, template["Resources"][argument], "Ref")
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            return self._placeholder(stack, logical_id, template["Resources"][logical_id], attribute)
        if function == "Fn::GetStackOutput":
            producer = argument["StackName"].removeprefix(f"{self.name}-")
            return self.resolve(producer, self.template(producer)["Outputs"][argument["OutputName"]]["Value"])
        raise ValueError(f"{self.name}/{stack}: cannot resolve {value!r}")

    @cached_property
    def _pseudo_parameters(self) -> dict[str, str]:
        partition, suffix = self.partition
        return {
            "AWS::Region": self.config.region,
            "AWS::AccountId": self.config.account,
            "AWS::Partition": partition,
            "AWS::URLSuffix": suffix,
        }

    def _placeholder(self, stack: str, logical_id: str, resource: dict, attribute: str) -> str:
        """A deploy-time value of the shape AWS gives it (ARN formats: the Service Authorization Reference)."""
        partition, region, account = self.partition[0], self.config.region, self.config.account
        properties = resource.get("Properties", {})
        digest = hashlib.sha256(f"{self.name}/{stack}/{logical_id}".encode()).hexdigest()
        kind = (resource["Type"], attribute)
        if kind == ("AWS::S3::Bucket", "Ref"):
            # CloudFormation's generated name: <stack name>-<logical id>-<random>, lower case for buckets
            # (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html).
            return properties.get("BucketName") or f"{self.name}-{stack}-{logical_id}"[:50].lower() + "-" + digest[:12]
        if kind == ("AWS::KMS::Key", "Arn"):
            return f"arn:{partition}:kms:{region}:{account}:key/{uuid.UUID(digest[:32])}"
        if kind == ("AWS::SageMaker::MlflowTrackingServer", "TrackingServerArn"):
            return f"arn:{partition}:sagemaker:{region}:{account}:mlflow-tracking-server/{properties['TrackingServerName']}"
        if kind == ("AWS::SageMaker::MlflowApp", "Arn"):
            # SageMaker generates the id (API_CreateMlflowApp): app-<12 characters>.
            return f"arn:{partition}:sagemaker:{region}:{account}:mlflow-app/app-{digest[:12]}"
        raise ValueError(f"{self.name}/{stack}: no stand-in value for {resource['Type']} {logical_id} {attribute}")


def interface_service_name(key: str, region: str) -> str:
    """The PrivateLink service name of a config key (kit_config.schema.INTERFACE_ENDPOINT_SERVICES):
    com.amazonaws.<region>.<key>, except MLflow's aws.sagemaker.<region>.experiments."""
    if key not in INTERFACE_ENDPOINT_SERVICES:
        raise ValueError(f"unknown interface endpoint service {key!r}")
    return f"aws.sagemaker.{region}.experiments" if key == "experiments" else f"com.amazonaws.{region}.{key}"
