"""Kit-BearerTokensOverTls: an agent that verifies bearer tokens is reached over TLS on every hop the stack builds.

With `AGENT_AUTH_MODE=jwt` (the runtime's default) every request carries `Authorization: Bearer <JWT>`;
over plain HTTP anyone on the path can read it and replay it until it expires (RFC 6750 §5.3: "Always
use TLS (https)"). For an ECS service in front of such a container, the rule follows the
load balancer path the template defines: every listener that forwards to the service's target group must
be HTTPS (a redirect-only HTTP listener forwards nothing and passes, though the kit has none: the token
has already crossed in clear when the redirect answers), and the target group must be HTTPS too, with
the container serving TLS (`AGENT_TLS=self_signed`; the load balancer does not validate target
certificates, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#target-group-routing-configuration).
checkov reports a plain listener as CKV_AWS_2 / CKV_AWS_103; the built-in packs' redirect rules
(`ALBHttpToHttpsRedirection`) can be acknowledged away, as staging's were, and know nothing of tokens.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from cdk_nag import NagRuleCompliance

from governance.agent_containers import agent_targets, runtime_setting
from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import listeners_forwarding_to


class BearerTokensOverTls:
    rule_id = "BearerTokensOverTls"
    resource_types = ("AWS::ECS::Service",)  # check() is NOT_APPLICABLE to any other type
    info = (
        "An agent that verifies bearer tokens is reached over plain HTTP: a listener or its target group is not HTTPS."
    )
    explanation = (
        "Bearer tokens are credentials: serve the agent behind an HTTPS listener only (certificate from ACM, a "
        "TLS 1.2+ policy), with an HTTPS target group and AGENT_TLS=self_signed in the container, and no "
        "listener that forwards plain HTTP."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::ECS::Service":
            return NagRuleCompliance.NOT_APPLICABLE
        routes = [route for route in agent_targets(node) if runtime_setting(route[1], "auth_mode") == "jwt"]
        if not routes:
            return NagRuleCompliance.NOT_APPLICABLE
        stack, findings = Stack.of(node), set()
        for name, environment, target_group in routes:
            if cfn_properties(target_group).get("Protocol") != "HTTPS":
                findings.add(f"PlainHttpToTask::{name}")
            elif runtime_setting(environment, "tls") != "self_signed":
                findings.add(f"TaskServesNoTls::{name}")  # the load balancer's TLS to a plain server: unhealthy
            for listener in listeners_forwarding_to(stack, target_group):
                properties = cfn_properties(listener)
                if properties.get("Protocol") != "HTTPS":
                    findings.add(f"PlainHttpListener::{properties.get('Port', '?')}")
        return findings_or_compliant(sorted(findings))
