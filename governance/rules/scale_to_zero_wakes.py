"""Kit-ScaleToZeroWakes: an inference component that may scale to zero copies has a way back from zero.

At zero copies target tracking has no concurrency to track, so nothing scales the component out again:
AWS's procedure adds a step scaling policy (ChangeInCapacity +1 from a lower bound of 0) and a CloudWatch
alarm on `NoCapacityInvocationFailures` (AWS/SageMaker, dimension InferenceComponentName) whose action is
that policy ("Scale an endpoint to zero instances",
https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).

The alarm must fire on the *first* refused request. The guide's own CLI example (`--statistic Sum
--threshold 1 --comparison-operator GreaterThanThreshold`) needs two refusals within a minute: one
caller trying once, as after a night at zero, never wakes the endpoint. So the alarm must be
`GreaterThanOrEqualToThreshold` with a threshold of at most 1 (or `GreaterThanThreshold` below 1), as
AWS's scale-to-zero blog post configures it (docs/deploy-readiness.md, C5).

And it must add *one* copy. An alarm re-invokes an Auto Scaling action every period it stays in ALARM
(CloudWatch "Alarm actions"), and it stays there while callers keep failing, for the minutes a copy takes
to start. A `ChangeInCapacity` step adds another copy each time its cooldown ends (within the cooldown the
copy already added counts toward the next step: Application Auto Scaling step scaling "Cooldown"), so its
cooldown must outlast a start from zero (`MIN_WAKE_COOLDOWN_SECONDS`); the guide's 60 s does not. An
`ExactCapacity` step cannot overshoot.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_nag import NagRuleCompliance

from governance.kit_rule import RuleResult, cfn_properties, findings_or_compliant
from governance.policy import GovernancePolicy
from governance.template_graph import logical_id_of

COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
# About 5 minutes from the alarm to a running copy of an 8B model in AWS's launch measurements (the
# scale-to-zero post: ~1 min alarm, ~1.7 min instance, ~2.3 min copy).
MIN_WAKE_COOLDOWN_SECONDS = 300
WAKE_METRIC = ("AWS/SageMaker", "NoCapacityInvocationFailures")


class ScaleToZeroWakes:
    rule_id = "ScaleToZeroWakes"
    resource_types = ("AWS::ApplicationAutoScaling::ScalableTarget",)  # check() is NOT_APPLICABLE to any other type
    info = "An inference component can scale to zero copies but no alarm on its first refused request scales it out."
    explanation = (
        "A component at zero copies refuses every request until a copy runs; only a step scaling policy on a "
        "NoCapacityInvocationFailures alarm that fires on one failure brings it back (AWS's scale-to-zero procedure)."
    )

    def check(self, node: CfnResource, policy: GovernancePolicy) -> RuleResult:
        if node.cfn_resource_type != "AWS::ApplicationAutoScaling::ScalableTarget":
            return NagRuleCompliance.NOT_APPLICABLE
        properties = cfn_properties(node)
        if properties.get("ScalableDimension") != COPY_DIMENSION or properties.get("MinCapacity") != 0:
            return NagRuleCompliance.NOT_APPLICABLE
        stack = Stack.of(node)
        component = str(stack.resolve(properties.get("ResourceId"))).removeprefix("inference-component/")
        policies = _step_policies_adding_copies(stack, stack.get_logical_id(node))
        if not policies:
            return ["NoScaleOutFromZeroPolicy"]
        alarms = [alarm for alarm in _alarms_on(stack, policies) if _watches_refusals(alarm, component)]
        if not alarms:
            return ["NoNoCapacityAlarm"]
        findings = []
        if not any(_fires_on_one_refusal(alarm) for alarm in alarms):
            findings.append("NeedsMoreThanOneRefusal")
        if not any(_adds_one_copy_per_wake(configuration) for configuration in policies.values()):
            findings.append("AddsCopiesWhileWaking")
        return findings_or_compliant(findings)


def _step_policies_adding_copies(stack: Stack, target_id: str) -> dict[str, dict]:
    """{logical id: StepScalingPolicyConfiguration} of the target's step policies that add capacity from 0."""
    found = {}
    for construct in stack.node.find_all():
        if not isinstance(construct, appscaling.CfnScalingPolicy):
            continue
        properties = cfn_properties(construct)
        if (
            properties.get("PolicyType") != "StepScaling"
            or logical_id_of(properties.get("ScalingTargetId")) != target_id
        ):
            continue
        configuration = properties.get("StepScalingPolicyConfiguration") or {}
        steps = configuration.get("StepAdjustments") or []
        if any(s.get("MetricIntervalLowerBound") == 0 and (s.get("ScalingAdjustment") or 0) > 0 for s in steps):
            found[stack.get_logical_id(construct)] = configuration
    return found


def _adds_one_copy_per_wake(configuration: dict) -> bool:
    if configuration.get("AdjustmentType") == "ExactCapacity":
        return True
    cooldown = configuration.get("Cooldown")
    return isinstance(cooldown, int | float) and cooldown >= MIN_WAKE_COOLDOWN_SECONDS


def _alarms_on(stack: Stack, policies: dict[str, dict]) -> list[dict]:
    """The properties of the alarms whose actions include one of `policies`."""
    alarms = []
    for construct in stack.node.find_all():
        if isinstance(construct, cloudwatch.CfnAlarm):
            properties = cfn_properties(construct)
            if any(logical_id_of(action) in policies for action in properties.get("AlarmActions") or []):
                alarms.append(properties)
    return alarms


def _watches_refusals(alarm: dict, component: str) -> bool:
    dimensions = {d.get("Name"): d.get("Value") for d in alarm.get("Dimensions") or []}
    return (alarm.get("Namespace"), alarm.get("MetricName")) == WAKE_METRIC and dimensions.get(
        "InferenceComponentName"
    ) == component


def _fires_on_one_refusal(alarm: dict) -> bool:
    threshold, operator = alarm.get("Threshold"), alarm.get("ComparisonOperator")
    if not isinstance(threshold, int | float) or alarm.get("EvaluationPeriods") != 1:
        return False
    return (operator == "GreaterThanOrEqualToThreshold" and threshold <= 1) or (
        operator == "GreaterThanThreshold" and threshold < 1
    )
