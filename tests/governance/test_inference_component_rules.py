"""Kit rules for inference components and scale to zero: each shown rejecting the broken form.

- Kit-ScaleToZeroWakes: a component that may reach zero copies needs AWS's scale-out-from-zero step policy
  on a NoCapacityInvocationFailures alarm that fires on the first refused request.
- Kit-AutoscaledCapacityRetained: a component's CopyCount is re-sent on its updates (modelled, not unknown).
- Kit-SageMakerVariantAutoscaled: a variant of components scales through its components' copies.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sagemaker as sagemaker

from tests.helpers import gate_findings

pytestmark = pytest.mark.synth

COMPONENT = "chat-primary"


def kit(findings: dict, rule: str) -> list[str]:
    return sorted(rule_id for rule_id in findings if rule_id.startswith(f"Kit-{rule}"))


def _copies(stack, *, min_capacity: int = 0) -> appscaling.ScalableTarget:
    return appscaling.ScalableTarget(
        stack,
        "Copies",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"inference-component/{COMPONENT}",
        scalable_dimension="sagemaker:inference-component:DesiredCopyCount",
        min_capacity=min_capacity,
        max_capacity=2,
    )


def _wake(
    stack,
    target,
    *,
    statistic: str = "Maximum",
    operator: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    threshold: float = 1,
    adjustment: appscaling.AdjustmentType = appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    cooldown: int | None = 600,
) -> None:
    step = appscaling.StepScalingAction(
        stack,
        "FromZero",
        scaling_target=target,
        adjustment_type=adjustment,
        cooldown=Duration.seconds(cooldown) if cooldown is not None else None,
    )
    step.add_adjustment(adjustment=1, lower_bound=0)
    alarm = cloudwatch.Alarm(
        stack,
        "NoCapacity",
        metric=cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="NoCapacityInvocationFailures",
            dimensions_map={"InferenceComponentName": COMPONENT},
            statistic=statistic,
            period=Duration.minutes(1),
        ),
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=operator,
    )
    alarm.add_alarm_action(actions.ApplicationScalingAction(step))


def test_a_component_that_can_reach_zero_without_a_way_back_is_rejected(tmp_path):
    findings = gate_findings(lambda s: _copies(s), tmp_path=tmp_path)
    assert kit(findings, "ScaleToZeroWakes") == ["Kit-ScaleToZeroWakes[NoScaleOutFromZeroPolicy]"]


def test_the_guides_example_alarm_needs_two_refusals_and_is_rejected(tmp_path):
    # `put-metric-alarm --statistic Sum --threshold 1 --comparison-operator GreaterThanThreshold`, as in
    # "Scale an endpoint to zero instances": one request after a quiet night never wakes the endpoint.
    def build(stack):
        _wake(
            stack,
            _copies(stack),
            statistic="Sum",
            operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=1,
        )

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit(findings, "ScaleToZeroWakes") == ["Kit-ScaleToZeroWakes[NeedsMoreThanOneRefusal]"]


def test_a_wake_policy_that_adds_a_copy_every_minute_while_the_first_starts_is_rejected(tmp_path):
    # The guide's `"Cooldown": 60`: the alarm stays in ALARM for the minutes a copy takes to start and re-invokes
    # the +1 each period; past the cooldown every re-invocation adds a copy (and an instance).
    def build(stack, **step):
        _wake(stack, _copies(stack), **step)

    findings = gate_findings(lambda s: build(s, cooldown=60), tmp_path=tmp_path)
    assert kit(findings, "ScaleToZeroWakes") == ["Kit-ScaleToZeroWakes[AddsCopiesWhileWaking]"]
    exact = {"adjustment": appscaling.AdjustmentType.EXACT_CAPACITY, "cooldown": None}
    assert kit(gate_findings(lambda s: build(s, **exact), tmp_path=tmp_path / "exact"), "ScaleToZeroWakes") == []


def test_an_alarm_on_another_components_refusals_does_not_count(tmp_path):
    def build(stack):
        target = _copies(stack)
        _wake(stack, target)
        alarm = stack.node.find_child("NoCapacity").node.default_child
        alarm.dimensions = [cloudwatch.CfnAlarm.DimensionProperty(name="InferenceComponentName", value="other")]

    findings = gate_findings(build, tmp_path=tmp_path)
    assert kit(findings, "ScaleToZeroWakes") == ["Kit-ScaleToZeroWakes[NoNoCapacityAlarm]"]


def test_a_wake_alarm_that_fires_on_one_refusal_passes_and_a_floor_of_one_needs_none(tmp_path):
    def build(stack):
        _wake(stack, _copies(stack))

    assert kit(gate_findings(build, tmp_path=tmp_path), "ScaleToZeroWakes") == []
    assert (
        kit(gate_findings(lambda s: _copies(s, min_capacity=1), tmp_path=tmp_path / "floor"), "ScaleToZeroWakes") == []
    )


def _component(stack, endpoint, *, copies: int, deployment_config=None) -> sagemaker.CfnInferenceComponent:
    return sagemaker.CfnInferenceComponent(
        stack,
        "Component",
        inference_component_name=COMPONENT,
        endpoint_name=endpoint.attr_endpoint_name,
        variant_name="primary",
        specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
            model_name="chat-model",
            compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                number_of_accelerator_devices_required=1, min_memory_required_in_mb=4096
            ),
        ),
        runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(copy_count=copies),
        deployment_config=deployment_config,
    )


def _endpoint_of_components(stack, *, copies_target: bool, component: bool = True) -> None:
    config = sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="primary",
                instance_type="ml.g6.xlarge",
                initial_instance_count=1,
                managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                    status="ENABLED", min_instance_count=1, max_instance_count=2
                ),
            )
        ],
    )
    endpoint = sagemaker.CfnEndpoint(
        stack, "Endpoint", endpoint_name="chat", endpoint_config_name=config.attr_endpoint_config_name
    )
    if component:
        _component(stack, endpoint, copies=1)
    if copies_target:
        _copies(stack, min_capacity=1)


def test_a_variant_of_components_without_a_copy_target_or_a_component_is_rejected(tmp_path):
    findings = gate_findings(lambda s: _endpoint_of_components(s, copies_target=False), tmp_path=tmp_path)
    assert kit(findings, "SageMakerVariantAutoscaled") == [
        f"Kit-SageMakerVariantAutoscaled[NoScalableTarget::primary::{COMPONENT}]"
    ]
    findings = gate_findings(
        lambda s: _endpoint_of_components(s, copies_target=False, component=False), tmp_path=tmp_path / "empty"
    )
    assert kit(findings, "SageMakerVariantAutoscaled") == [
        "Kit-SageMakerVariantAutoscaled[NoInferenceComponent::primary]"
    ]


def test_a_component_stating_its_copy_count_is_a_modelled_reset_and_its_copy_target_counts(tmp_path):
    findings = gate_findings(lambda s: _endpoint_of_components(s, copies_target=True), tmp_path=tmp_path)
    assert kit(findings, "SageMakerVariantAutoscaled") == []
    # Not UnmodelledDimension: the rule knows a component's CopyCount is re-sent on its updates.
    assert kit(findings, "AutoscaledCapacityRetained") == ["Kit-AutoscaledCapacityRetained[CopyCountResetOnUpdate]"]


def _rolling_component(stack, *, describe_alarms: bool, after_policy: bool) -> None:
    """An endpoint of components whose component rolls out with alarm rollback, read as the config's role."""
    from aws_cdk import aws_iam as iam

    alarm = cloudwatch.Alarm(
        stack,
        "Errors",
        alarm_name="chat-errors",
        threshold=1,
        evaluation_periods=1,
        metric=cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="Invocation5XXErrors",
            dimensions_map={"InferenceComponentName": COMPONENT},
        ),
    )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    statements = [
        iam.PolicyStatement(
            actions=["ecr:BatchGetImage"], resources=["arn:aws:ecr:us-east-1:763104351884:repository/djl-inference"]
        )
    ]
    if describe_alarms:
        statements.append(iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=[alarm.alarm_arn]))
    policy = iam.ManagedPolicy(stack, "Policy", statements=statements, roles=[role])
    config = sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        execution_role_arn=role.role_arn,
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="primary", instance_type="ml.g6.xlarge", initial_instance_count=2
            )
        ],
    )
    if after_policy:
        config.node.add_dependency(policy)
    endpoint = sagemaker.CfnEndpoint(
        stack, "Endpoint", endpoint_name="chat", endpoint_config_name=config.attr_endpoint_config_name
    )
    _component(
        stack,
        endpoint,
        copies=2,
        deployment_config=sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty(
            rolling_update_policy=sagemaker.CfnInferenceComponent.InferenceComponentRollingUpdatePolicyProperty(
                maximum_batch_size=sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty(
                    type="COPY_COUNT", value=1
                ),
                wait_interval_in_seconds=300,
            ),
            auto_rollback_configuration=sagemaker.CfnInferenceComponent.AutoRollbackConfigurationProperty(
                alarms=[sagemaker.CfnInferenceComponent.AlarmProperty(alarm_name=alarm.alarm_name)]
            ),
        ),
    )


def test_a_rolling_components_alarms_the_endpoint_configs_role_cannot_read_are_rejected(tmp_path):
    findings = gate_findings(
        lambda s: _rolling_component(s, describe_alarms=False, after_policy=True), tmp_path=tmp_path
    )
    [finding] = kit(findings, "SageMakerRollbackAlarmsReadable")
    assert finding.startswith("Kit-SageMakerRollbackAlarmsReadable[NotReadable::primary::Errors"), finding
    findings = gate_findings(
        lambda s: _rolling_component(s, describe_alarms=True, after_policy=True), tmp_path=tmp_path / "ok"
    )
    assert kit(findings, "SageMakerRollbackAlarmsReadable") == []


def test_an_endpoint_config_with_its_own_role_is_created_after_the_roles_policy(tmp_path):
    findings = gate_findings(
        lambda s: _rolling_component(s, describe_alarms=True, after_policy=False), tmp_path=tmp_path
    )
    [finding] = kit(findings, "SageMakerModelAfterRolePolicy")
    assert finding.startswith("Kit-SageMakerModelAfterRolePolicy[NotAfter::Policy"), finding
