"""The containers of a task definition that run the kit's agent runtime, and their runtime settings.

A container runs the agent runtime when its environment sets every `AGENT_*` variable that
`agent_runtime.settings.RuntimeSettings` requires (today `AGENT_ENDPOINT_NAME`). Its other settings
are the variables it sets, else the runtime's defaults: the value the process will run with.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack

from agent_runtime.settings import RuntimeSettings
from governance.kit_rule import cfn_properties
from governance.template_graph import resource, service_target_groups

_PREFIX = RuntimeSettings.model_config["env_prefix"]
_REQUIRED = tuple(
    f"{_PREFIX}{name}".upper() for name, field in RuntimeSettings.model_fields.items() if field.is_required()
)


def agent_containers(task_definition: CfnResource) -> dict[str, dict]:
    """{container name: environment} of the task definition's agent-runtime containers."""
    found = {}
    for container in cfn_properties(task_definition).get("ContainerDefinitions") or []:
        environment = {item.get("Name"): item.get("Value") for item in container.get("Environment") or []}
        if all(name in environment for name in _REQUIRED):
            found[container.get("Name", "?")] = environment
    return found


def runtime_setting(environment: dict, setting: str) -> object:
    """The setting's value as the runtime will read it: the variable if set (possibly a CloudFormation
    intrinsic), else RuntimeSettings' default."""
    variable = f"{_PREFIX}{setting}".upper()
    if variable in environment:
        return environment[variable]
    return RuntimeSettings.model_fields[setting].default


def agent_targets(service: CfnResource) -> list[tuple[str, dict, CfnResource]]:
    """(container name, its environment, target group) for each of an ECS service's target groups (resources of
    its stack) that sends traffic to an agent-runtime container."""
    stack = Stack.of(service)
    task = resource(stack, cfn_properties(service).get("TaskDefinition"))
    containers = agent_containers(task) if task is not None else {}
    return [
        (name, containers[name], target_group)
        for name, target_group in service_target_groups(stack, service)
        if name in containers
    ]
