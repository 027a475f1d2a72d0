"""Following references between the CloudFormation resources of one stack, for rules that span resources.

Rules see one resource at a time; the deploy-time constraints that matter most (an endpoint's
rollback alarms readable by its models' role, a model created after its role's policy) span
several. These helpers resolve `Ref`/`Fn::GetAtt` to the construct that a reference names.
"""

from __future__ import annotations

from collections.abc import Iterator

from aws_cdk import CfnResource, Stack

from governance.kit_rule import cfn_properties, memoized


def logical_id_of(reference) -> str | None:
    """The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}` names, else None."""
    if isinstance(reference, dict):
        if "Ref" in reference:
            return reference["Ref"]
        if "Fn::GetAtt" in reference:
            return reference["Fn::GetAtt"][0]
    return None


def resources_of(stack: Stack, resource_type: str | None = None) -> Iterator[CfnResource]:
    for construct, kind, _ in _stack_index(stack):
        if resource_type is None or kind == resource_type:
            yield construct


def resource(stack: Stack, reference) -> CfnResource | None:
    logical_id = logical_id_of(reference)
    if logical_id is None:
        return None
    return next((r for r, _, r_logical_id in _stack_index(stack) if r_logical_id() == logical_id), None)


def _stack_index(stack: Stack) -> list[tuple[CfnResource, str, object]]:
    """(resource, type, logical id getter) of the stack's own resources, in tree order; read once per evaluation."""
    return memoized("stack_index", stack, lambda: _read_stack_index(stack))


def _read_stack_index(stack: Stack) -> list[tuple[CfnResource, str, object]]:
    stack_path = stack.node.path
    index = []
    for construct in stack.node.find_all():
        if isinstance(construct, CfnResource) and Stack.of(construct).node.path == stack_path:
            index.append((construct, construct.cfn_resource_type, _logical_id_getter(stack, construct)))
    return index


def _logical_id_getter(stack: Stack, construct: CfnResource):
    return lambda: memoized("logical_id", construct, lambda: stack.get_logical_id(construct))


def role_policy_documents(stack: Stack, role: CfnResource) -> list[tuple[CfnResource, dict]]:
    """(policy resource, document) for every policy attached to `role` in this stack, inline ones included."""
    role_id = stack.get_logical_id(role)
    role_ref = {"Ref": role_id}
    found: list[tuple[CfnResource, dict]] = []
    role_properties = cfn_properties(role)
    for inline in role_properties.get("Policies") or []:
        found.append((role, inline.get("PolicyDocument") or {}))
    attached_arns = role_properties.get("ManagedPolicyArns") or []
    for policy in resources_of(stack):
        if policy.cfn_resource_type not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        properties = cfn_properties(policy)
        if role_ref in (properties.get("Roles") or []) or {"Ref": stack.get_logical_id(policy)} in attached_arns:
            found.append((policy, properties.get("PolicyDocument") or {}))
    return found


def allowed_resources(documents: list[dict], action: str) -> list:
    """Resources of Allow statements that grant `action` (exactly, by `service:*`, or by a `Prefix*` wildcard)."""
    import fnmatch

    granted = []
    for document in documents:
        for statement in document.get("Statement") or []:
            actions = statement.get("Action")
            actions = [actions] if isinstance(actions, str) else actions or []
            if statement.get("Effect") == "Allow" and any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
                resources = statement.get("Resource")
                granted += [resources] if not isinstance(resources, list) else resources
    return granted


def depends_on(node: CfnResource, other: CfnResource) -> bool:
    """Whether CloudFormation creates `other` before `node` through DependsOn, directly or transitively.

    Construct-level dependencies (`node.add_dependency(construct)`, on the resource or a scope above
    it) only become DependsOn when the app is prepared, so both kinds are followed.
    """
    # jsii hands out a new Python proxy per lookup: compare construct paths, not identities.
    target, seen, pending = other.node.path, set(), [node]
    while pending:
        current = pending.pop()
        for dependency in _direct_dependencies(current):
            path = dependency.node.path
            if path == target:
                return True
            if path not in seen:
                seen.add(path)
                pending.append(dependency)
    return False


def _direct_dependencies(node: CfnResource) -> Iterator[CfnResource]:
    yield from node.obtain_dependencies()
    for scope in node.node.scopes:
        for construct in scope.node.dependencies:
            yield from (c for c in construct.node.find_all() if isinstance(c, CfnResource))


# -- Load balancers: a service's target groups, the listeners that forward to them, their load balancer --


def service_target_groups(stack: Stack, service: CfnResource) -> list[tuple[str, CfnResource]]:
    """(container name, target group) for each `LoadBalancers` entry of an ECS service whose target group is
    a resource of this stack."""
    found = []
    for entry in cfn_properties(service).get("LoadBalancers") or []:
        target_group = resource(stack, entry.get("TargetGroupArn"))
        if target_group is not None:
            found.append((entry.get("ContainerName", "?"), target_group))
    return found


def listeners_forwarding_to(stack: Stack, target_group: CfnResource) -> list[CfnResource]:
    """The stack's listeners whose default actions or listener rules forward to `target_group`
    (a redirect or fixed-response listener forwards nothing)."""
    target_id = stack.get_logical_id(target_group)
    listeners = {}
    for candidate in resources_of(stack, "AWS::ElasticLoadBalancingV2::Listener"):
        if _forwards_to(cfn_properties(candidate).get("DefaultActions"), target_id):
            listeners[candidate.node.path] = candidate
    for rule in resources_of(stack, "AWS::ElasticLoadBalancingV2::ListenerRule"):
        properties = cfn_properties(rule)
        listener = resource(stack, properties.get("ListenerArn"))
        if listener is not None and _forwards_to(properties.get("Actions"), target_id):
            listeners[listener.node.path] = listener
    return list(listeners.values())


def _forwards_to(actions, target_id: str) -> bool:
    for action in actions or []:
        if action.get("Type") != "forward":
            continue
        groups = [action.get("TargetGroupArn")]
        groups += [g.get("TargetGroupArn") for g in ((action.get("ForwardConfig") or {}).get("TargetGroups") or [])]
        if any(logical_id_of(group) == target_id for group in groups):
            return True
    return False


def load_balancer_attribute(load_balancer: CfnResource, key: str) -> object:
    """A `LoadBalancerAttributes` value of an `AWS::ElasticLoadBalancingV2::LoadBalancer`, or None if unset."""
    for attribute in cfn_properties(load_balancer).get("LoadBalancerAttributes") or []:
        if attribute.get("Key") == key:
            return attribute.get("Value")
    return None
