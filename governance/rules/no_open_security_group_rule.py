"""Kit-NoOpenSecurityGroupRule: no security-group rule to or from 0.0.0.0/0 or ::/0."""

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy

OPEN_CIDRS = {"CidrIp": "0.0.0.0/0", "CidrIpv6": "::/0"}


class NoOpenSecurityGroupRule:
    rule_id = "NoOpenSecurityGroupRule"
    resource_types = (
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
    )  # check() is NOT_APPLICABLE to any other type
    info = "A security group rule allows traffic to or from anywhere (0.0.0.0/0 or ::/0)."
    explanation = (
        "The kit's workloads have no internet path; an any-address rule, even for egress, "
        "widens the blast radius of a compromised task and hides intent. Name the peer: a "
        "security group, a prefix list or a specific CIDR."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        kind = node.cfn_resource_type
        properties = cfn_properties(node)
        if kind == "AWS::EC2::SecurityGroup":
            rules = [("Ingress", rule) for rule in properties.get("SecurityGroupIngress") or []]
            rules += [("Egress", rule) for rule in properties.get("SecurityGroupEgress") or []]
        elif kind == "AWS::EC2::SecurityGroupIngress":
            rules = [("Ingress", properties)]
        elif kind == "AWS::EC2::SecurityGroupEgress":
            rules = [("Egress", properties)]
        else:
            return NagRuleCompliance.NOT_APPLICABLE
        findings = []
        for direction, rule in rules:
            for field, open_cidr in OPEN_CIDRS.items():
                if isinstance(rule, dict) and rule.get(field) == open_cidr:
                    finding = f"{direction}::{open_cidr}"
                    if finding not in findings:
                        findings.append(finding)
        return findings_or_compliant(findings)
