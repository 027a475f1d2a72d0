"""Kit-CloudWatchMetricMath: the gate rejects alarms and dashboards CloudWatch would reject at create time,
and accepts the kit's own (every environment)."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from governance.rules.cloudwatch_metric_math import ALARM, DASHBOARD, resource_findings
from tests.helpers import ENVIRONMENTS, gate_findings

pytestmark = pytest.mark.synth

RULE = "Kit-CloudWatchMetricMath"


def rule_findings(findings: dict[str, list[str]]) -> dict[str, list[str]]:
    return {rule_id: paths for rule_id, paths in findings.items() if rule_id.startswith(RULE)}


def metric(name: str, period: int = 60) -> cloudwatch.CfnAlarm.MetricDataQueryProperty:
    return cloudwatch.CfnAlarm.MetricDataQueryProperty(
        id=name,
        return_data=False,
        metric_stat=cloudwatch.CfnAlarm.MetricStatProperty(
            metric=cloudwatch.CfnAlarm.MetricProperty(namespace="AWS/SageMaker", metric_name=name.capitalize()),
            period=period,
            stat="Sum",
        ),
    )


def expression(text: str, id_: str = "e1") -> cloudwatch.CfnAlarm.MetricDataQueryProperty:
    return cloudwatch.CfnAlarm.MetricDataQueryProperty(id=id_, expression=text, return_data=True)


def math_alarm(stack, construct_id: str, *metrics: cloudwatch.CfnAlarm.MetricDataQueryProperty) -> None:
    cloudwatch.CfnAlarm(
        stack,
        construct_id,
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=3,
        threshold=5,
        metrics=list(metrics),
    )


def four_xx_rate(expression_text: str, variant: str = "primary") -> cloudwatch.MathExpression:
    """The kit's 4XX error-rate expression shape (kit_constructs/inference_endpoint.py), through CDK's L2."""

    def sagemaker(name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=name,
            dimensions_map={"EndpointName": "llm", "VariantName": variant},
            statistic="Sum",
            period=Duration.minutes(1),
        )

    return cloudwatch.MathExpression(
        expression=expression_text,
        using_metrics={"errors": sagemaker("Invocation4XXErrors"), "invocations": sagemaker("Invocations")},
        period=Duration.minutes(1),
    )


OLD_4XX = "100 * errors / MAX([invocations, 1])"
NEW_4XX = "IF(invocations > 0, 100 * errors / invocations, 0)"


def test_alarms_cloudwatch_would_refuse_are_rejected_each_with_its_reason(tmp_path):
    def build(stack):
        four_xx_rate(OLD_4XX).create_alarm(stack, "OldRateAlarm", threshold=5, evaluation_periods=3)
        four_xx_rate(NEW_4XX).create_alarm(stack, "GuardedRateAlarm", threshold=5, evaluation_periods=3)
        math_alarm(stack, "UnknownFunction", expression("MEDIAN(errors)"), metric("errors"))
        math_alarm(stack, "UnknownId", expression("errors / requests"), metric("errors"))
        math_alarm(stack, "ScalarResult", expression("MAX(errors)"), metric("errors"))
        math_alarm(stack, "ArrayResult", expression("METRICS()"), metric("errors"))
        math_alarm(
            stack,
            "ElevenMetrics",
            expression(" + ".join(f"m{i}" for i in range(11))),
            *(metric(f"m{i}") for i in range(11)),
        )
        math_alarm(stack, "BadPeriod", expression("errors * 2"), metric("errors", period=45))
        cloudwatch.CfnAlarm(
            stack,
            "NoReturnedSeries",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            threshold=1,
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(id="e1", expression="errors * 2", return_data=False),
                metric("errors"),
            ],
        )

    assert rule_findings(gate_findings(build, tmp_path=tmp_path)) == {
        f"{RULE}[ArgumentTypes::expr_1::MAX(Array[TimeSeries, Scalar])]": ["gate/UnderTest/OldRateAlarm/Resource"],
        f"{RULE}[UnknownFunction::e1::MEDIAN]": ["gate/UnderTest/UnknownFunction"],
        f"{RULE}[UnknownId::e1::requests]": ["gate/UnderTest/UnknownId"],
        f"{RULE}[ResultType::e1::Scalar]": ["gate/UnderTest/ScalarResult"],
        f"{RULE}[ResultType::e1::Array[TimeSeries]]": ["gate/UnderTest/ArrayResult"],
        f"{RULE}[TooManyMetrics::11Metrics]": ["gate/UnderTest/ElevenMetrics"],
        f"{RULE}[Period::errors::45]": ["gate/UnderTest/BadPeriod"],
        f"{RULE}[ReturnData::0Returned]": ["gate/UnderTest/NoReturnedSeries"],
    }


def test_a_dashboard_with_a_bad_expression_is_rejected_and_a_good_one_passes(tmp_path):
    def dashboard(stack, construct_id: str, rate: str) -> None:
        cloudwatch.Dashboard(stack, construct_id).add_widgets(
            cloudwatch.GraphWidget(title="4XX rate", left=[four_xx_rate(rate)]),
            cloudwatch.GraphWidget(
                title="Latency (ms)",
                left=[
                    cloudwatch.MathExpression(
                        expression="latency / 1000",
                        using_metrics={
                            "latency": cloudwatch.Metric(namespace="AWS/SageMaker", metric_name="ModelLatency")
                        },
                    )
                ],
            ),
        )

    def build(stack):
        dashboard(stack, "Broken", OLD_4XX)
        dashboard(stack, "Fixed", NEW_4XX)

    assert rule_findings(gate_findings(build, tmp_path=tmp_path)) == {
        f"{RULE}[ArgumentTypes::4XX rate::row0::MAX(Array[TimeSeries, Scalar])]": ["gate/UnderTest/Broken/Resource"]
    }


def test_the_kits_alarms_and_dashboards_are_accepted_in_every_environment(synthesized):
    checked: dict[str, list[str]] = {}
    for (environment, _stack), template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in (ALARM, DASHBOARD):
                assert resource_findings(resource["Type"], resource["Properties"]) == [], (environment, logical_id)
                checked.setdefault(environment, []).append(logical_id)
    # Not vacuous: every environment has its 4XX error-rate alarm (metric math) and its dashboard.
    for environment in ENVIRONMENTS:
        assert any("Invocation4XXErrorRate" in logical_id for logical_id in checked[environment]), environment
        assert any("Dashboard" in logical_id for logical_id in checked[environment]), environment


def test_the_kits_4xx_alarm_is_the_guarded_form(synthesized):
    expressions = {
        entry["Expression"]
        for template in synthesized.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == ALARM
        for entry in resource["Properties"].get("Metrics", [])
        if "Expression" in entry
    }
    assert expressions == {NEW_4XX}


def test_the_old_4xx_expression_is_flagged_on_exactly_the_4xx_alarms_of_every_environment(synthesized):
    """The kit's alarms with the pre-fix expression put back: the rule flags each 4XX alarm, nothing else."""
    flagged, findings = set(), set()
    for (environment, _stack), template in synthesized.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != ALARM:
                continue
            properties = dict(resource["Properties"])
            properties["Metrics"] = [
                {**entry, "Expression": OLD_4XX} if entry.get("Expression") == NEW_4XX else entry
                for entry in properties.get("Metrics", [])
            ]
            if found := resource_findings(ALARM, properties):
                flagged.add((environment, logical_id))
                findings.update(found)
    assert findings == {"ArgumentTypes::expr_1::MAX(Array[TimeSeries, Scalar])"}
    four_xx_alarms = {
        (environment, logical_id)
        for (environment, _stack), template in synthesized.templates.items()
        for logical_id in template["Resources"]
        if "Invocation4XXErrorRate" in logical_id
    }
    assert flagged == four_xx_alarms
    assert {environment for environment, _ in flagged} == set(ENVIRONMENTS)
