"""Kit-KeepAliveExceedsIdleTimeout: the agent keeps idle connections open longer than its load balancer does.

An Application Load Balancer reuses its connections to a target. AWS: "configure the idle timeout of
your application to be larger than the idle timeout configured for the load balancer. Otherwise, if
the application closes the TCP connection to the load balancer ungracefully, the load balancer might
send a request to the application before it receives the packet indicating that the connection is
closed. If this is the case, then the load balancer sends an HTTP 502 Bad Gateway error to the client"
("Connection idle timeout",
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout).
uvicorn's default keep-alive is 5 s; the load balancer's idle timeout defaults to 60 s. Those 502s are
the load balancer's own (`HTTPCode_ELB_502_Count`), not the target's, so a target-5XX alarm misses them.

For an ECS service whose container runs the agent runtime, the rule compares the container's keep-alive
(`AGENT_KEEP_ALIVE_SECONDS`, else the runtime's default) with `idle_timeout.timeout_seconds` of every
load balancer that forwards to the service (else ELB's default, 60 s).
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.agent_containers import agent_targets, runtime_setting
from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import listeners_forwarding_to, load_balancer_attribute, resource

ELB_DEFAULT_IDLE_TIMEOUT_SECONDS = (
    60  # "By default, ELB sets the idle timeout value for your load balancer to 60 seconds."
)


class KeepAliveExceedsIdleTimeout:
    rule_id = "KeepAliveExceedsIdleTimeout"
    resource_types = ("AWS::ECS::Service",)  # check() is NOT_APPLICABLE to any other type
    info = "The agent's keep-alive is not longer than its load balancer's idle timeout: the load balancer answers 502 on reused connections."
    explanation = (
        "Set AGENT_KEEP_ALIVE_SECONDS above the load balancer's idle_timeout.timeout_seconds (the kit derives it: "
        "FargateAgent.keep_alive_seconds), so the load balancer, not the target, closes idle connections."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::ECS::Service":
            return NagRuleCompliance.NOT_APPLICABLE
        stack, findings, checked = Stack.of(node), set(), False
        for name, environment, target_group in agent_targets(node):
            keep_alive = _seconds(runtime_setting(environment, "keep_alive_seconds"))
            for listener in listeners_forwarding_to(stack, target_group):
                load_balancer = resource(stack, cfn_properties(listener).get("LoadBalancerArn"))
                if load_balancer is None:
                    continue
                idle = _seconds(load_balancer_attribute(load_balancer, "idle_timeout.timeout_seconds"))
                idle = ELB_DEFAULT_IDLE_TIMEOUT_SECONDS if idle is None else idle
                checked = True
                if keep_alive is None:
                    findings.add(f"KeepAliveUnknown::{name}")  # a deploy-time value: cannot be compared here
                elif keep_alive <= idle:
                    findings.add(f"KeepAliveNotAboveIdleTimeout::{name}::{keep_alive}s<={idle}s")
        if not checked:
            return NagRuleCompliance.NOT_APPLICABLE
        return findings_or_compliant(sorted(findings))


def _seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
