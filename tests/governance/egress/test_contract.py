"""The egress contract against the synthesized app: the runtime's real code paths, driven in each
environment's deployed environment under the connection recorder, call exactly the registry's
hosts; each host has a private route in that environment's network; and the check rejects a
network missing an endpoint and an MLflow App ARN in the isolated VPC."""

from __future__ import annotations

import copy
import os

import pytest

from governance.egress.contract import BEGIN, END, contract_problems, contract_table, egress_legs
from governance.egress.deployment import AgentDeployment
from governance.egress.destinations import DESTINATIONS
from governance.egress.probe import TASKS
from kit_config.project import PROJECT_DIR
from kit_config.schema import ExistingEndpoints
from tests.helpers import ENVIRONMENTS

CREDENTIAL_TASKS = ["credentials"]  # with the host's own credential source only
CALL_TASKS = [task for task in TASKS if task not in CREDENTIAL_TASKS]  # with stand-in credentials


def deployment(synthesized, env: str, templates=None, config=None) -> AgentDeployment:
    return AgentDeployment(config or synthesized.configs[env], templates or synthesized.templates)


def probe(subject: AgentDeployment, home, tasks=None) -> dict[str, list[str]]:
    # Nothing of this process's environment but PATH and a fresh HOME (no ~/.aws of the machine).
    base = {"PATH": os.environ["PATH"], "HOME": str(home)}
    recorded = {}
    if tasks is None or set(tasks) & set(CREDENTIAL_TASKS):
        recorded |= subject.run_probe(CREDENTIAL_TASKS, stand_in_credentials=False, base_environment=base)
    calls = [task for task in (tasks or CALL_TASKS) if task in CALL_TASKS]
    if calls:
        recorded |= subject.run_probe(calls, stand_in_credentials=True, base_environment=base)
    return recorded


def registry_hosts(subject: AgentDeployment, tasks=TASKS) -> dict[str, list[str]]:
    return {
        task: sorted({host for d in DESTINATIONS if task in d.tasks for host in d.hosts(subject)}) for task in tasks
    }


@pytest.fixture(scope="module")
def recorded(synthesized, tmp_path_factory):
    home = tmp_path_factory.mktemp("probe-home")
    return {env: probe(deployment(synthesized, env), home) for env in ENVIRONMENTS}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_runtime_calls_exactly_the_hosts_the_registry_derives(synthesized, recorded, env):
    subject = deployment(synthesized, env)
    assert recorded[env] == registry_hosts(subject), recorded[env]
    # Not vacuous: the model, the session bucket, KMS and MLflow were each reached by a real code path.
    assert all(recorded[env][task] for task in ("model-call", "session-admission", "caller-id", "tracing-setup"))
    # Fargate's task role: botocore's container provider goes to the link-local endpoint; Lambda's are variables.
    assert recorded[env]["credentials"] == (["169.254.170.2"] if subject.host == "fargate" else [])


def test_mlflow_telemetry_calls_nothing(recorded):
    # agent_runtime/lineage.py turns MLflow's telemetry off; without it the client fetches
    # config.mlflow-telemetry.io, which no private route serves.
    assert all(recorded[env]["mlflow-telemetry"] == [] for env in ENVIRONMENTS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_destination_has_a_private_route(synthesized, env):
    subject = deployment(synthesized, env)
    assert contract_problems(subject) == []
    routes = {leg.destination.name: leg.route for leg in egress_legs(subject)}
    assert (
        routes["MLflow tracking"]
        == f"interface endpoint aws.sagemaker.{subject.config.region}.experiments (private DNS)"
    )
    assert routes["session bucket"] == f"S3 gateway endpoint com.amazonaws.{subject.config.region}.s3"


def without_endpoint(templates, env: str, service_suffix: str) -> dict:
    changed = copy.deepcopy(dict(templates))
    resources = changed[(env, "Network")]["Resources"]
    [logical_id] = [
        key
        for key, resource in resources.items()
        if resource["Type"] == "AWS::EC2::VPCEndpoint"
        and str(resource["Properties"]["ServiceName"]).endswith(service_suffix)
    ]
    del resources[logical_id]
    return changed


def test_the_contract_rejects_a_network_without_the_kms_endpoint(synthesized):
    templates = without_endpoint(synthesized.templates, "staging", ".kms")
    [problem] = contract_problems(deployment(synthesized, "staging", templates))
    assert problem.startswith("staging: caller-id key (agent;") and "calls kms.us-east-1.amazonaws.com" in problem


def test_the_contract_rejects_an_interface_endpoint_without_private_dns(synthesized):
    templates = copy.deepcopy(dict(synthesized.templates))
    for resource in templates[("prod", "Network")]["Resources"].values():
        if str(resource.get("Properties", {}).get("ServiceName", "")).endswith(".sagemaker.runtime"):
            resource["Properties"]["PrivateDnsEnabled"] = False
    [problem] = contract_problems(deployment(synthesized, "prod", templates))
    assert "model endpoint" in problem and "runtime.sagemaker.us-west-2.amazonaws.com" in problem


def test_an_existing_vpcs_reused_endpoint_is_a_route_and_a_missing_one_is_not(synthesized):
    templates = without_endpoint(synthesized.templates, "prod", ".kms")
    prod = synthesized.configs["prod"]
    assert len(contract_problems(deployment(synthesized, "prod", templates))) == 1
    reused = ExistingEndpoints(services=["kms"], security_group_ids=["sg-0123456789abcdef0"])
    config = prod.model_copy(update={"network": prod.network.model_copy(update={"existing_endpoints": reused})})
    subject = deployment(synthesized, "prod", templates, config)
    assert contract_problems(subject) == []
    assert {leg.route for leg in egress_legs(subject) if leg.destination.name == "caller-id key"} == {
        "interface endpoint com.amazonaws.us-west-2.kms (private DNS, existing VPC (config))"
    }


def with_mlflow_app(templates, env: str) -> dict:
    """The environment's templates with its tracking server replaced by an MLflow App (what config
    used to allow in dev): the agent's tracking URI becomes the App's ARN."""
    changed = copy.deepcopy(dict(templates))
    mlflow = changed[(env, "Mlflow")]
    for resource in mlflow["Resources"].values():
        if resource["Type"] == "AWS::SageMaker::MlflowTrackingServer":
            resource["Type"] = "AWS::SageMaker::MlflowApp"
    for output in mlflow["Outputs"].values():
        value = output["Value"]
        if isinstance(value, dict) and value.get("Fn::GetAtt", [None, None])[1] == "TrackingServerArn":
            value["Fn::GetAtt"][1] = "Arn"
    return changed


def test_the_contract_rejects_an_mlflow_app_in_the_isolated_network(synthesized, tmp_path):
    subject = deployment(synthesized, "dev", with_mlflow_app(synthesized.templates, "dev"))
    assert ":mlflow-app/app-" in subject.tracking_uri
    # The real client goes where the registry says: sagemaker-mlflow's App host, which no endpoint serves.
    recorded = probe(subject, tmp_path, ["tracing-setup", "lineage-cli"])
    assert recorded == registry_hosts(subject, ["tracing-setup", "lineage-cli"])
    assert recorded["tracing-setup"] == ["mlflow.sagemaker.us-east-1.app.aws"]
    [problem] = contract_problems(subject)
    assert problem.startswith("dev: MLflow tracking (agent, agent-lineage;")
    assert "calls mlflow.sagemaker.us-east-1.app.aws, and the network has no private route to it" in problem


def test_deploy_readiness_shows_the_contract_as_synthesized(synthesized):
    document = (PROJECT_DIR / "docs" / "deploy-readiness.md").read_text(encoding="utf-8")
    shown = document.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    table = contract_table(deployment(synthesized, env) for env in ENVIRONMENTS)
    assert shown == table, "regenerate: python -m governance.egress docs/deploy-readiness.md"
