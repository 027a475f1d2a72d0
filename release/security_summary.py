"""Security-relevant differences between two syntheses of one environment.

Compares template JSON (no CDK import): IAM statements (identity policies, role trust, resource
policies), security groups and their rules, KMS keys (policy, rotation), network paths (VPC,
subnets, routes, gateways, VPC endpoints, load balancers, function URLs), SageMaker endpoint
capacity (instance type and count per variant, autoscaling min/max) and the acknowledged
governance findings of the compliance CSVs. The summary is what a reviewer reads before the
full `cdk diff`.

    python -m release.security_summary BASELINE_ASSEMBLY CURRENT_ASSEMBLY --env dev [--json]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from release.assembly import ComplianceRow, compliance_rows, templates

CATEGORIES = {
    "iam": "IAM statements",
    "security_groups": "Security groups",
    "kms": "KMS keys and key policies",
    "network": "Network paths",
    "capacity": "Endpoint instance type and capacity",
    "acknowledgments": "Acknowledged governance findings",
}


@dataclass(frozen=True)
class Change:
    category: str  # a key of CATEGORIES
    stack: str  # CloudFormation stack name, e.g. dev-Network
    resource: str  # logical id (or rule id for acknowledgments)
    message: str
    broadening: bool = False  # widens access or removes a control: review with care

    def line(self) -> str:
        flag = "[broadening] " if self.broadening else ""
        return f"- {flag}`{self.stack}` `{self.resource}`: {self.message}"


# --- rendering CloudFormation values ---------------------------------------------------------


def render(value: object) -> str:
    """A short, stable text for a template value, intrinsics included."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)) or value is None:
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    if (
        isinstance(value, dict)
        and len(value) == 1
        and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))
    ):
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"Ref({arg})"
        if key == "Fn::GetAtt":
            return f"{'.'.join(map(str, arg)) if isinstance(arg, list) else arg}"
        if key == "Fn::ImportValue":
            return f"Import({render(arg)})"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            return str(arg[0]).join(render(part) for part in arg[1])
        if key == "Fn::Sub":
            return render(arg[0] if isinstance(arg, list) else arg)
        return f"{key.removeprefix('Fn::')}({render(arg)})"
    if isinstance(value, dict):
        return "{" + ",".join(f'"{key}":{_quoted(render(item))}' for key, item in sorted(value.items())) + "}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _quoted(text: str) -> str:
    return text if text[:1] in "[{" else json.dumps(text)


def _canonical(value: object) -> object:
    """Sort lists of plain strings (Action, Resource, ...) so reordering is not a change."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if all(isinstance(item, str) for item in items):
            return sorted(items)
        return items
    return value


def _key(value: object) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"))


def _resources(template: dict, *types: str) -> dict[str, dict]:
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") in types
    }


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- IAM and resource policies ---------------------------------------------------------------

# type -> [(property path, label)] of policy documents
_POLICY_DOCUMENTS = {
    "AWS::IAM::Role": [(("AssumeRolePolicyDocument",), "trust policy")],
    "AWS::IAM::Policy": [(("PolicyDocument",), "policy")],
    "AWS::IAM::ManagedPolicy": [(("PolicyDocument",), "managed policy")],
    "AWS::S3::BucketPolicy": [(("PolicyDocument",), "bucket policy")],
    "AWS::SNS::TopicPolicy": [(("PolicyDocument",), "topic policy")],
    "AWS::SQS::QueuePolicy": [(("PolicyDocument",), "queue policy")],
    "AWS::KMS::Key": [(("KeyPolicy",), "key policy")],
    "AWS::EC2::VPCEndpoint": [(("PolicyDocument",), "endpoint policy")],
    "AWS::ECR::Repository": [(("RepositoryPolicyText",), "repository policy")],
}


def _statements(template: dict) -> dict[tuple[str, str], dict[str, dict]]:
    """{(logical id, label): {canonical statement: statement}} for every policy document."""
    found: dict[tuple[str, str], dict[str, dict]] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        documents = [
            (label, properties.get(path[0])) for path, label in _POLICY_DOCUMENTS.get(resource.get("Type"), [])
        ]
        if resource.get("Type") == "AWS::IAM::Role":
            for policy in properties.get("Policies") or []:
                documents.append((f"inline policy {render(policy.get('PolicyName'))}", policy.get("PolicyDocument")))
        for label, document in documents:
            if not isinstance(document, dict):
                continue
            for statement in _as_list(document.get("Statement")):
                found.setdefault((logical_id, label), {})[_key(statement)] = statement
    return found


def _describe_statement(statement: dict) -> str:
    parts = [str(statement.get("Effect", "?"))]
    for key in ("Action", "NotAction"):
        if key in statement:
            parts.append(
                ("NOT " if key == "NotAction" else "") + ", ".join(render(a) for a in _as_list(statement[key]))
            )
    if "Principal" in statement:
        parts.append("to " + render(statement["Principal"]))
    for key in ("Resource", "NotResource"):
        if key in statement:
            parts.append(
                ("on NOT " if key == "NotResource" else "on ") + ", ".join(render(r) for r in _as_list(statement[key]))
            )
    if "Condition" in statement:
        parts.append("if " + render(statement["Condition"]))
    return " ".join(parts)


def _iam_changes(stack: str, before: dict, after: dict) -> list[Change]:
    changes = []
    old, new = _statements(before), _statements(after)
    for key in sorted(set(old) | set(new)):
        logical_id, label = key
        category = "kms" if label == "key policy" else "network" if label == "endpoint policy" else "iam"
        was, now = old.get(key, {}), new.get(key, {})
        for canonical in sorted(set(now) - set(was)):
            statement = now[canonical]
            changes.append(
                Change(
                    category,
                    stack,
                    logical_id,
                    f"{label}: + {_describe_statement(statement)}",
                    broadening=statement.get("Effect") == "Allow",
                )
            )
        for canonical in sorted(set(was) - set(now)):
            statement = was[canonical]
            changes.append(
                Change(
                    category,
                    stack,
                    logical_id,
                    f"{label}: - {_describe_statement(statement)}",
                    broadening=statement.get("Effect") == "Deny",
                )
            )
    for _, resource in _diff_typed(before, after, "AWS::IAM::Role", ("ManagedPolicyArns", "PermissionsBoundary")):
        changes.append(resource.with_stack(stack))
    for logical_id in sorted(set(_resources(after, "AWS::IAM::Role")) - set(_resources(before, "AWS::IAM::Role"))):
        changes.append(Change("iam", stack, logical_id, "new IAM role"))
    for logical_id in sorted(set(_resources(before, "AWS::IAM::Role")) - set(_resources(after, "AWS::IAM::Role"))):
        changes.append(Change("iam", stack, logical_id, "IAM role removed"))
    for _, resource in _diff_typed(
        before,
        after,
        "AWS::Lambda::Permission",
        ("Action", "Principal", "FunctionUrlAuthType", "SourceArn", "SourceAccount"),
    ):
        changes.append(resource.with_stack(stack))
    for logical_id in sorted(
        set(_resources(after, "AWS::Lambda::Permission")) - set(_resources(before, "AWS::Lambda::Permission"))
    ):
        props = _resources(after, "AWS::Lambda::Permission")[logical_id].get("Properties", {})
        changes.append(
            Change(
                "iam",
                stack,
                logical_id,
                f"new Lambda permission: {render(props.get('Action'))} to {render(props.get('Principal'))}",
                broadening=True,
            )
        )
    return changes


@dataclass(frozen=True)
class _PropertyChange:
    category: str
    logical_id: str
    message: str
    broadening: bool

    def with_stack(self, stack: str) -> Change:
        return Change(self.category, stack, self.logical_id, self.message, self.broadening)


_BROADENING_VALUES = {
    ("AuthType", "NONE"),
    ("FunctionUrlAuthType", "NONE"),
    ("Scheme", "internet-facing"),
    ("MapPublicIpOnLaunch", "true"),
    ("EnableKeyRotation", "false"),
    ("Enabled", "false"),
    ("EnableNetworkIsolation", "false"),
    ("PrivateDnsEnabled", "false"),
}

_CATEGORY_OF_TYPE = {
    "AWS::IAM::Role": "iam",
    "AWS::Lambda::Permission": "iam",
    "AWS::KMS::Key": "kms",
    "AWS::KMS::Alias": "kms",
    "AWS::SageMaker::EndpointConfig": "capacity",
    "AWS::ApplicationAutoScaling::ScalableTarget": "capacity",
    "AWS::ECS::Service": "capacity",
    "AWS::Lambda::Function": "capacity",
}


def _diff_typed(
    before: dict, after: dict, resource_type: str, properties: tuple[str, ...]
) -> list[tuple[str, _PropertyChange]]:
    """Changed watched properties of resources present in both templates."""
    category = _CATEGORY_OF_TYPE.get(resource_type, "network")
    old, new = _resources(before, resource_type), _resources(after, resource_type)
    result = []
    for logical_id in sorted(set(old) & set(new)):
        was = old[logical_id].get("Properties") or {}
        now = new[logical_id].get("Properties") or {}
        for name in properties:
            if _key(was.get(name)) != _key(now.get(name)):
                shown_new = render(now.get(name)) if name in now else "(unset)"
                shown_old = render(was.get(name)) if name in was else "(unset)"
                broadening = (name, shown_new.lower()) in _BROADENING_VALUES
                result.append(
                    (
                        logical_id,
                        _PropertyChange(category, logical_id, f"{name}: {shown_old} -> {shown_new}", broadening),
                    )
                )
    return result


# --- security groups -------------------------------------------------------------------------

_PEERS = (
    "CidrIp",
    "CidrIpv6",
    "SourceSecurityGroupId",
    "SourcePrefixListId",
    "DestinationSecurityGroupId",
    "DestinationPrefixListId",
    "SourceSecurityGroupName",
)


@dataclass(frozen=True)
class _Rule:
    group: str
    direction: str  # ingress | egress
    protocol: str
    ports: str
    peer_kind: str
    peer: str

    def text(self) -> str:
        where = "from" if self.direction == "ingress" else "to"
        return f"{self.direction} {self.protocol} {self.ports} {where} {self.peer}"

    @property
    def open_to_world(self) -> bool:
        return self.peer in ("0.0.0.0/0", "::/0")


def _rule(group: str, direction: str, rule: dict) -> _Rule:
    protocol = render(rule.get("IpProtocol", "?"))
    protocol = "all" if protocol in ("-1", "all") else protocol
    low, high = rule.get("FromPort"), rule.get("ToPort")
    ports = (
        "all ports"
        if protocol == "all" or (low in (None, -1) and high in (None, -1))
        else (f"port {render(low)}" if low == high else f"ports {render(low)}-{render(high)}")
    )
    peer_kind = next((key for key in _PEERS if key in rule), "none")
    peer = render(rule.get(peer_kind, "?"))
    return _Rule(group, direction, protocol, ports, peer_kind, peer)


def _group_ref(value: object) -> str:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(_as_list(value["Fn::GetAtt"])[0])
    return render(value)


def _security_group_rules(template: dict) -> set[_Rule]:
    rules = set()
    for logical_id, resource in _resources(template, "AWS::EC2::SecurityGroup").items():
        properties = resource.get("Properties") or {}
        for direction, key in (("ingress", "SecurityGroupIngress"), ("egress", "SecurityGroupEgress")):
            for rule in _as_list(properties.get(key)):
                rules.add(_rule(logical_id, direction, rule))
    for direction, resource_type in (
        ("ingress", "AWS::EC2::SecurityGroupIngress"),
        ("egress", "AWS::EC2::SecurityGroupEgress"),
    ):
        for resource in _resources(template, resource_type).values():
            properties = resource.get("Properties") or {}
            rules.add(_rule(_group_ref(properties.get("GroupId")), direction, properties))
    return rules


def _widens(old: _Rule, new: _Rule) -> bool:
    if (old.group, old.direction, old.protocol, old.ports) != (new.group, new.direction, new.protocol, new.ports):
        return False
    try:
        return ipaddress.ip_network(old.peer).subnet_of(ipaddress.ip_network(new.peer)) and old.peer != new.peer
    except (ValueError, TypeError):
        return False


def _security_group_changes(stack: str, before: dict, after: dict) -> list[Change]:
    changes = []
    old_groups, new_groups = _resources(before, "AWS::EC2::SecurityGroup"), _resources(after, "AWS::EC2::SecurityGroup")
    for logical_id in sorted(set(new_groups) - set(old_groups)):
        changes.append(Change("security_groups", stack, logical_id, "new security group"))
    for logical_id in sorted(set(old_groups) - set(new_groups)):
        changes.append(Change("security_groups", stack, logical_id, "security group removed"))
    old, new = _security_group_rules(before), _security_group_rules(after)
    added, removed = sorted(new - old, key=_Rule.text), sorted(old - new, key=_Rule.text)
    for rule in added:
        widened = [previous for previous in removed if _widens(previous, rule)]
        message = f"{rule.text()} added"
        if widened:
            message = f"{rule.text()} (widened from {', '.join(p.peer for p in widened)})"
        if rule.open_to_world:
            message += " -- open to the internet"
        changes.append(Change("security_groups", stack, rule.group, message, broadening=True))
    for rule in removed:
        if any(_widens(rule, replacement) for replacement in added):
            continue
        changes.append(Change("security_groups", stack, rule.group, f"{rule.text()} removed"))
    return changes


# --- KMS, network paths, capacity ------------------------------------------------------------

_WATCHED = {
    "AWS::KMS::Key": (
        "EnableKeyRotation",
        "RotationPeriodInDays",
        "Enabled",
        "KeySpec",
        "KeyUsage",
        "PendingWindowInDays",
    ),
    "AWS::EC2::VPC": ("CidrBlock",),
    "AWS::EC2::Subnet": ("CidrBlock", "MapPublicIpOnLaunch", "VpcId"),
    "AWS::EC2::Route": (
        "DestinationCidrBlock",
        "DestinationIpv6CidrBlock",
        "GatewayId",
        "NatGatewayId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "VpcEndpointId",
        "InstanceId",
    ),
    "AWS::EC2::VPCEndpoint": (
        "ServiceName",
        "VpcEndpointType",
        "PrivateDnsEnabled",
        "SecurityGroupIds",
        "SubnetIds",
        "RouteTableIds",
    ),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("Scheme", "SecurityGroups", "Subnets"),
    "AWS::ElasticLoadBalancingV2::Listener": ("Port", "Protocol", "SslPolicy", "Certificates"),
    "AWS::Lambda::Url": ("AuthType", "Cors"),
    "AWS::SageMaker::Model": ("EnableNetworkIsolation", "VpcConfig"),
    "AWS::ApplicationAutoScaling::ScalableTarget": ("MinCapacity", "MaxCapacity", "ScheduledActions"),
    "AWS::ECS::Service": ("DesiredCount", "NetworkConfiguration"),
    "AWS::Lambda::Function": ("ReservedConcurrentExecutions", "VpcConfig"),
}
# Types whose appearance or removal is itself a network-path change.
_NETWORK_TYPES = (
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::Route",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::TransitGatewayAttachment",
    "AWS::EC2::VPCPeeringConnection",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::Lambda::Url",
)
_INTERNET_PATHS = (
    "AWS::EC2::InternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::VPCPeeringConnection",
)


def _short_type(resource_type: str) -> str:
    return resource_type.split("::", 1)[1]


def _describe_new(resource: dict) -> str:
    properties = resource.get("Properties") or {}
    resource_type = resource.get("Type", "")
    watched = [f"{name}={render(properties[name])}" for name in _WATCHED.get(resource_type, ()) if name in properties]
    return f"new {_short_type(resource_type)}" + (f" ({', '.join(watched)})" if watched else "")


def _resource_changes(stack: str, before: dict, after: dict) -> list[Change]:
    changes = []
    for resource_type, properties in _WATCHED.items():
        for _, change in _diff_typed(before, after, resource_type, properties):
            changes.append(change.with_stack(stack))
    for resource_type in (*_NETWORK_TYPES, "AWS::KMS::Key"):
        category = "kms" if resource_type == "AWS::KMS::Key" else "network"
        old, new = _resources(before, resource_type), _resources(after, resource_type)
        for logical_id in sorted(set(new) - set(old)):
            changes.append(
                Change(
                    category,
                    stack,
                    logical_id,
                    _describe_new(new[logical_id]),
                    broadening=resource_type in _INTERNET_PATHS
                    or (new[logical_id].get("Properties") or {}).get("Scheme") == "internet-facing",
                )
            )
        for logical_id in sorted(set(old) - set(new)):
            changes.append(
                Change(
                    category,
                    stack,
                    logical_id,
                    f"{_short_type(resource_type)} removed",
                    broadening=resource_type == "AWS::KMS::Key",
                )
            )
    return changes


def _variants(template: dict) -> dict[str, dict]:
    found = {}
    for resource in _resources(template, "AWS::SageMaker::EndpointConfig").values():
        for variant in (resource.get("Properties") or {}).get("ProductionVariants") or []:
            found[render(variant.get("VariantName"))] = variant
    return found


def _capacity_changes(stack: str, before: dict, after: dict) -> list[Change]:
    changes = []
    old, new = _variants(before), _variants(after)
    for name in sorted(set(old) | set(new)):
        if name not in old:
            variant = new[name]
            changes.append(
                Change(
                    "capacity",
                    stack,
                    f"variant {name}",
                    f"new variant: {render(variant.get('InstanceType'))} x {render(variant.get('InitialInstanceCount'))}, "
                    f"weight {render(variant.get('InitialVariantWeight'))}",
                )
            )
            continue
        if name not in new:
            changes.append(Change("capacity", stack, f"variant {name}", "variant removed"))
            continue
        for key in (
            "InstanceType",
            "InitialInstanceCount",
            "InitialVariantWeight",
            "ServerlessConfig",
            "ManagedInstanceScaling",
        ):
            if _key(old[name].get(key)) != _key(new[name].get(key)):
                changes.append(
                    Change(
                        "capacity",
                        stack,
                        f"variant {name}",
                        f"{key}: {render(old[name].get(key))} -> {render(new[name].get(key))}",
                    )
                )
    return changes


# --- acknowledgments -------------------------------------------------------------------------


def _acknowledgment_changes(
    environment: str, before: list[ComplianceRow] | None, after: list[ComplianceRow] | None
) -> list[Change]:
    if after is None:
        return []

    def acknowledged(rows):
        return {(r.rule_id, r.resource_path): r for r in rows or [] if r.status.startswith("acknowledged")}

    old, new = acknowledged(before), acknowledged(after)
    changes = []
    for key in sorted(set(new) - set(old)):
        row = new[key]
        changes.append(
            Change(
                "acknowledgments",
                environment,
                row.rule_id,
                f"newly acknowledged on {row.resource_path}: {row.reason}",
                broadening=True,
            )
        )
    for key in sorted(set(old) - set(new)):
        row = old[key]
        changes.append(
            Change("acknowledgments", environment, row.rule_id, f"acknowledgment removed from {row.resource_path}")
        )
    for row in after:
        if row.status == "UNACKNOWLEDGED":
            changes.append(
                Change(
                    "acknowledgments",
                    environment,
                    row.rule_id,
                    f"UNACKNOWLEDGED finding on {row.resource_path} (the governance gate fails)",
                    broadening=True,
                )
            )
    return changes


# --- the summary -----------------------------------------------------------------------------


@dataclass
class Summary:
    environment: str
    stacks_compared: list[str]
    new_stacks: list[str]
    removed_stacks: list[str]
    changes: list[Change]
    notes: list[str]

    @property
    def broadening(self) -> list[Change]:
        return [change for change in self.changes if change.broadening]

    def to_markdown(self, baseline_label: str = "baseline", current_label: str = "current") -> str:
        lines = [f"## Security summary: `{self.environment}` ({baseline_label} -> {current_label})", ""]
        lines.append("Stacks compared: " + (", ".join(f"`{name}`" for name in self.stacks_compared) or "none"))
        if self.new_stacks:
            lines.append("New stacks (no baseline): " + ", ".join(f"`{name}`" for name in self.new_stacks))
        if self.removed_stacks:
            lines.append("Removed stacks: " + ", ".join(f"`{name}`" for name in self.removed_stacks))
        lines.append("")
        for note in self.notes:
            lines.append(f"> {note}")
        if self.notes:
            lines.append("")
        if not self.changes:
            lines += ["No security-relevant changes.", ""]
            return "\n".join(lines)
        lines += [f"**{len(self.changes)} security-relevant change(s), {len(self.broadening)} broadening.**", ""]
        for category, title in CATEGORIES.items():
            items = [change for change in self.changes if change.category == category]
            if items:
                lines += [f"### {title} ({len(items)})", ""] + [change.line() for change in items] + [""]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {**asdict(self), "broadening_count": len(self.broadening)}


def summarize(
    environment: str,
    before: dict[str, dict],
    after: dict[str, dict],
    acknowledgments_before: list[ComplianceRow] | None = None,
    acknowledgments_after: list[ComplianceRow] | None = None,
) -> Summary:
    """Compare {stack name: template} maps of one environment (a missing stack is an empty template)."""
    changes: list[Change] = []
    names = sorted(set(before) | set(after), key=lambda n: (n not in after, n))
    for name in names:
        old, new = before.get(name, {}), after.get(name, {})
        changes += _iam_changes(name, old, new)
        changes += _security_group_changes(name, old, new)
        changes += _resource_changes(name, old, new)
        changes += _capacity_changes(name, old, new)
    changes += _acknowledgment_changes(environment, acknowledgments_before, acknowledgments_after)
    notes = []
    if acknowledgments_after is not None and acknowledgments_before is None:
        notes.append("The baseline has no compliance report: every acknowledgment counts as new.")
    order = list(CATEGORIES)
    changes.sort(key=lambda c: (order.index(c.category), not c.broadening))
    return Summary(
        environment=environment,
        stacks_compared=sorted(set(before) & set(after)),
        new_stacks=sorted(set(after) - set(before)),
        removed_stacks=sorted(set(before) - set(after)),
        changes=changes,
        notes=notes,
    )


def summarize_assemblies(environment: str, baseline: Path | None, current: Path) -> Summary:
    return summarize(
        environment,
        templates(baseline, environment),
        templates(current, environment),
        compliance_rows(baseline, environment),
        compliance_rows(current, environment),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", type=Path, help="baseline cloud assembly directory")
    parser.add_argument("current", type=Path, help="current cloud assembly directory")
    parser.add_argument("--env", required=True)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    summary = summarize_assemblies(args.env, args.baseline, args.current)
    print(json.dumps(summary.to_json(), indent=2) if args.json else summary.to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
