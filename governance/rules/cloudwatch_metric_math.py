"""Kit-CloudWatchMetricMath: alarms and dashboards CloudWatch will accept.

CloudWatch parses and type-checks metric math when PutMetricAlarm or PutDashboard is called, not at
synth: cfn-lint and the nag packs see a string. `100 * errors / MAX([invocations, 1])` synthesizes,
then fails the alarm's create ("Unsupported operand type(s) for MAX: '[Array[TimeSeries, Scalar]]'")
and the stack rolls back with everything in it. This rule parses every expression of every alarm and
dashboard widget and types it against the functions and operators CloudWatch documents, checks the
Ids it names, and the alarm's limits (metric and expression counts, one returned series, periods):
governance/metric_math/ and its sources.

Findings: `Kit-CloudWatchMetricMath[<Problem>::<entry>::<detail>]` on an alarm,
`[<Problem>::<widget title>::<entry>::<detail>]` on a dashboard; `<entry>` is the Id (or `row<N>`).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.metric_math.alarm_queries import alarm_group
from governance.metric_math.checker import type_queries
from governance.metric_math.constraints import group_findings
from governance.metric_math.dashboard_queries import UnreadableDashboardBody, dashboard_groups
from governance.metric_math.queries import QueryGroup
from governance.policy import GovernancePolicy

ALARM = "AWS::CloudWatch::Alarm"
DASHBOARD = "AWS::CloudWatch::Dashboard"


class CloudWatchMetricMath:
    rule_id = "CloudWatchMetricMath"
    resource_types = (ALARM, DASHBOARD)  # check() is NOT_APPLICABLE to any other type
    info = (
        "A metric math expression, Id or limit of this alarm or dashboard is one CloudWatch rejects when the "
        "alarm or dashboard is created."
    )
    explanation = (
        "CloudWatch types metric math at PutMetricAlarm/PutDashboard (S, TS, TS[]; documented functions only; "
        "Ids of the same alarm or widget; an alarm watches one time series, with at most 10 metrics and valid "
        "periods). A rejected alarm rolls the whole stack back: fix the expression (see docs/deploy-readiness.md)."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        resource_type = node.cfn_resource_type
        if resource_type not in self.resource_types:
            return NagRuleCompliance.NOT_APPLICABLE
        return findings_or_compliant(resource_findings(resource_type, cfn_properties(node)))


def resource_findings(resource_type: str, properties: dict[str, Any]) -> list[str]:
    """The findings for one alarm or dashboard, from its CloudFormation properties."""
    if resource_type == ALARM:
        groups = [alarm_group(properties)]
    else:
        try:
            groups = dashboard_groups(properties)
        except UnreadableDashboardBody:
            return ["UnreadableBody"]
    return sorted({finding for group in groups for finding in _group_findings(group)})


def _group_findings(group: QueryGroup) -> list[str]:
    return ["::".join(parts) for parts in group_findings(group, type_queries(group.queries))]
