"""Update hazards: a registered (autoscaled) variant whose instance type changes, or that is removed;
variant names changed under deployment guardrails; an endpoint switching between models on its
variants and inference components.

The templates are the committed snapshots of the real synthesized Inference stacks, edited the way
a config change would edit them. Prod's is the single-variant, autoscaled, blue/green endpoint;
dev's hosts its model as an inference component.
"""

from __future__ import annotations

import copy
import json

import pytest

from kit_config.project import PROJECT_DIR
from release.update_hazards import GUARDRAILS_EXCLUSIONS, SOURCE, endpoint_shapes, find_hazards
from tests.release.assembly_fixture import models_on_variants

SNAPSHOTS = PROJECT_DIR / "tests" / "stacks" / "__snapshots__" / "test_snapshots"


def snapshot(env: str, stack: str = "Inference") -> dict:
    return json.loads((SNAPSHOTS / f"test_template_snapshot[{env}-{stack}].json").read_text())


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def variants(template: dict) -> list[dict]:
    [config] = of_type(template, "AWS::SageMaker::EndpointConfig").values()
    return config["Properties"]["ProductionVariants"]


def set_instance_type(template: dict, variant: str, instance_type: str) -> dict:
    changed = copy.deepcopy(template)
    next(v for v in variants(changed) if v["VariantName"] == variant)["InstanceType"] = instance_type
    return changed


def drop_scalable_target(template: dict, variant: str) -> dict:
    changed = copy.deepcopy(template)
    for logical_id, resource in of_type(changed, "AWS::ApplicationAutoScaling::ScalableTarget").items():
        if resource["Properties"]["ResourceId"].endswith(f"/variant/{variant}"):
            del changed["Resources"][logical_id]
    return changed


def test_the_snapshots_are_read_as_the_kit_builds_them():
    shapes = endpoint_shapes(snapshot("staging"))
    assert list(shapes) == ["governed-agents-staging-llm"]
    shape = shapes["governed-agents-staging-llm"]
    assert shape.variants == {"primary": "ml.g5.2xlarge", "challenger": "ml.g5.2xlarge"}
    assert shape.registered == {"primary", "challenger"}


def test_instance_type_change_of_a_registered_variant_is_a_hazard_with_the_procedure():
    baseline = snapshot("prod")
    new = set_instance_type(baseline, "primary", "ml.g6e.4xlarge")
    [hazard] = find_hazards(baseline, new, environment="prod", stack="prod-Inference")
    assert (hazard.kind, hazard.variant, hazard.before, hazard.after) == (
        "instance_type",
        "primary",
        "ml.g6e.2xlarge",
        "ml.g6e.4xlarge",
    )
    message = hazard.message
    assert message.startswith(
        "prod/prod-Inference: endpoint governed-agents-prod-llm, variant 'primary': instance type ml.g6e.2xlarge -> ml.g6e.4xlarge"
    )
    assert "1) set `autoscaling.registered: false` on variant 'primary' in config/prod.yaml and deploy" in message
    assert "2) change the instance type and set `registered: true` again, and deploy" in message
    assert SOURCE in message


def test_deregistering_in_the_same_change_is_still_a_hazard():
    # CloudFormation updates the endpoint before it deletes the (dependent) scalable target.
    baseline = snapshot("prod")
    new = drop_scalable_target(set_instance_type(baseline, "primary", "ml.g6e.4xlarge"), "primary")
    assert [h.kind for h in find_hazards(baseline, new, environment="prod", stack="prod-Inference")] == [
        "instance_type"
    ]


def test_removing_a_registered_variant_is_a_hazard():
    baseline = snapshot("staging")
    new = drop_scalable_target(baseline, "challenger")
    [config] = of_type(new, "AWS::SageMaker::EndpointConfig").values()
    config["Properties"]["ProductionVariants"] = [v for v in variants(new) if v["VariantName"] != "challenger"]
    [hazard] = find_hazards(baseline, new, environment="staging", stack="staging-Inference")
    assert (hazard.kind, hazard.variant) == ("removed", "challenger")
    assert "variant 'challenger': the variant is removed while the variant is a registered" in hazard.message
    assert (
        "on variant 'challenger' in config/staging.yaml" in hazard.message
        and "2) remove the variant, and deploy" in hazard.message
    )


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])  # dev: an unchanged inference component endpoint
def test_unchanged_templates_have_no_hazard(env):
    assert find_hazards(snapshot(env), snapshot(env), environment=env, stack=f"{env}-Inference") == []


def test_scaling_and_model_changes_are_not_hazards():
    baseline = snapshot("prod")
    new = copy.deepcopy(baseline)
    [target] = of_type(new, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    target["Properties"]["MaxCapacity"] = 4
    variants(new)[0]["InitialInstanceCount"] = 2
    [model] = of_type(new, "AWS::SageMaker::Model").values()
    model["Properties"]["PrimaryContainer"]["Image"] = model["Properties"]["PrimaryContainer"]["Image"].replace(
        "0.38.0", "0.39.0"
    )
    assert find_hazards(baseline, new, environment="prod", stack="prod-Inference") == []


def test_instance_type_change_of_an_unregistered_variant_passes():
    baseline = drop_scalable_target(snapshot("prod"), "primary")
    new = set_instance_type(baseline, "primary", "ml.g6e.4xlarge")
    assert find_hazards(baseline, new, environment="prod", stack="prod-Inference") == []


def test_first_deploy_and_a_renamed_endpoint_are_not_updates():
    new = set_instance_type(snapshot("prod"), "primary", "ml.g6e.4xlarge")
    assert find_hazards(None, new, environment="prod", stack="prod-Inference") == []
    [endpoint] = of_type(new, "AWS::SageMaker::Endpoint").values()
    endpoint["Properties"]["EndpointName"] = "governed-agents-prod-llm-2"  # replacement, not UpdateEndpoint
    assert find_hazards(snapshot("prod"), new, environment="prod", stack="prod-Inference") == []


@pytest.mark.parametrize(
    "resource_id",
    [
        {"Fn::Join": ["", ["endpoint/", {"Fn::GetAtt": ["LlmEndpoint0550A83E", "EndpointName"]}, "/variant/primary"]]},
        {"Fn::Join": ["/", ["endpoint", {"Ref": "LlmEndpoint0550A83E"}, "variant", "primary"]]},
        {"Fn::Sub": "endpoint/${LlmEndpoint0550A83E.EndpointName}/variant/primary"},
    ],
)
def test_resource_ids_built_with_intrinsics_are_resolved(resource_id):
    baseline = snapshot("prod")
    [endpoint] = of_type(baseline, "AWS::SageMaker::Endpoint").values()
    del endpoint["Properties"]["EndpointName"]  # a generated name: only references can point at it
    [target] = of_type(baseline, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    target["Properties"]["ResourceId"] = resource_id
    [hazard] = find_hazards(
        baseline, set_instance_type(baseline, "primary", "ml.g6e.4xlarge"), environment="prod", stack="prod-Inference"
    )
    assert hazard.endpoint == "logical id LlmEndpoint0550A83E" and hazard.variant == "primary"


def test_a_target_of_another_service_or_endpoint_does_not_count():
    baseline = snapshot("prod")
    [target] = of_type(baseline, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    target["Properties"]["ResourceId"] = "endpoint/some-other-endpoint/variant/primary"
    assert (
        find_hazards(baseline, set_instance_type(baseline, "primary", "ml.g6e.4xlarge"), environment="prod", stack="s")
        == []
    )


# --- blue/green (deployment guardrails) needs the same variant names ---------------------------------


def endpoint(template: dict) -> dict:
    [resource] = of_type(template, "AWS::SageMaker::Endpoint").values()
    return resource["Properties"]


def add_variant(template: dict, name: str) -> dict:
    changed = copy.deepcopy(template)
    entries = variants(changed)
    entries.append({**copy.deepcopy(entries[0]), "VariantName": name})
    return changed


def rename_variant(template: dict, old: str, new: str) -> dict:
    changed = copy.deepcopy(template)
    next(v for v in variants(changed) if v["VariantName"] == old)["VariantName"] = new
    return changed


def without_guardrails(template: dict) -> dict:
    """What `inference.deployment.strategy: none` is to render: the endpoint without a DeploymentConfig."""
    changed = copy.deepcopy(template)
    del endpoint(changed)["DeploymentConfig"]
    return changed


def test_the_kit_updates_its_endpoints_with_a_blue_green_policy():
    for env in ("staging", "prod"):
        [shape] = endpoint_shapes(snapshot(env)).values()
        assert shape.deployment_policy == "BlueGreenUpdatePolicy" and shape.has_deployment_config
    # Dev hosts an inference component: its update is the component's own (blue/green of its copies),
    # and the endpoint carries no DeploymentConfig, so no variant-name guardrail applies to it.
    [shape] = endpoint_shapes(snapshot("dev")).values()
    assert shape.deployment_policy is None and not shape.has_deployment_config


def test_adding_a_variant_under_blue_green_is_a_hazard_with_the_procedure():
    # Not autoscaled yet, so no Application Auto Scaling hazard: the variant names alone fail the update.
    baseline = snapshot("prod")
    [hazard] = find_hazards(baseline, add_variant(baseline, "challenger"), environment="prod", stack="prod-Inference")
    assert (hazard.kind, hazard.variant, hazard.before, hazard.after) == (
        "variant_names",
        "challenger",
        ("primary",),
        ("primary", "challenger"),
    )
    message = hazard.message
    assert message.startswith(
        "prod/prod-Inference: endpoint governed-agents-prod-llm: the update adds 'challenger' "
        "(variants ['primary'] -> ['primary', 'challenger']) while the endpoint updates with deployment "
        "guardrails (BlueGreenUpdatePolicy)"
    )
    assert (
        "1) make the variant change with `inference.deployment.strategy: none` in config/prod.yaml and deploy"
        in message
    )
    assert "2) set `inference.deployment.strategy` back, and deploy" in message
    assert GUARDRAILS_EXCLUSIONS in message


def test_renaming_a_variant_is_a_hazard_even_when_nothing_is_autoscaled():
    baseline = drop_scalable_target(snapshot("prod"), "primary")
    [hazard] = find_hazards(
        baseline, rename_variant(baseline, "primary", "main"), environment="prod", stack="prod-Inference"
    )
    assert hazard.kind == "variant_names" and hazard.variant == "main, primary"
    assert "the update adds 'main'; removes 'primary'" in hazard.message


def test_removing_an_unregistered_variant_under_blue_green_is_a_hazard():
    baseline = drop_scalable_target(snapshot("staging"), "challenger")
    new = copy.deepcopy(baseline)
    [config] = of_type(new, "AWS::SageMaker::EndpointConfig").values()
    config["Properties"]["ProductionVariants"] = [v for v in variants(new) if v["VariantName"] != "challenger"]
    [hazard] = find_hazards(baseline, new, environment="staging", stack="staging-Inference")
    assert (hazard.kind, hazard.variant) == ("variant_names", "challenger") and "removes 'challenger'" in hazard.message


def test_removing_a_registered_variant_under_blue_green_gives_one_procedure_with_both_steps():
    baseline = snapshot("staging")
    new = drop_scalable_target(baseline, "challenger")
    [config] = of_type(new, "AWS::SageMaker::EndpointConfig").values()
    config["Properties"]["ProductionVariants"] = [v for v in variants(new) if v["VariantName"] != "challenger"]
    [hazard] = find_hazards(baseline, new, environment="staging", stack="staging-Inference")
    assert hazard.kind == "removed" and hazard.guardrails == "BlueGreenUpdatePolicy"
    message = hazard.message
    assert (
        message.index("1) set `autoscaling.registered: false`")
        < message.index("2) remove the variant, and deploy with `inference.deployment.strategy: none`")
        < message.index("3) set `inference.deployment.strategy` back, and deploy")
    )
    assert GUARDRAILS_EXCLUSIONS in message


def test_a_variant_change_deployed_without_guardrails_passes():
    # The new template's DeploymentConfig is what UpdateEndpoint gets; without one nothing is retained.
    baseline = snapshot("prod")
    new = without_guardrails(add_variant(baseline, "challenger"))
    assert find_hazards(baseline, new, environment="prod", stack="prod-Inference") == []


def test_retain_deployment_config_reuses_the_deployed_blue_green_policy():
    baseline = snapshot("prod")
    new = without_guardrails(add_variant(baseline, "challenger"))
    endpoint(new)["RetainDeploymentConfig"] = True
    assert [h.kind for h in find_hazards(baseline, new, environment="prod", stack="prod-Inference")] == [
        "variant_names"
    ]


def test_a_rolling_update_policy_is_a_guardrail_update_too():
    baseline = without_guardrails(snapshot("prod"))
    new = add_variant(baseline, "challenger")
    endpoint(new)["DeploymentConfig"] = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 300,
        }
    }
    [hazard] = find_hazards(baseline, new, environment="prod", stack="prod-Inference")
    assert hazard.kind == "variant_names" and hazard.guardrails == "RollingUpdatePolicy"


def test_same_variant_names_under_blue_green_pass():
    # Reordering the variants or changing their models keeps the names.
    baseline = snapshot("staging")
    new = copy.deepcopy(baseline)
    variants(new).reverse()
    assert find_hazards(baseline, new, environment="staging", stack="staging-Inference") == []


# --- switching between models on variants and inference components ---------------------------------


def test_the_snapshots_are_read_with_their_hosting():
    assert [shape.hosts_components for shape in endpoint_shapes(snapshot("dev")).values()] == [True]
    assert [shape.hosts_components for shape in endpoint_shapes(snapshot("staging")).values()] == [False]
    # Dev's component scales copies, not the variant's instances: no registered variant.
    assert [shape.registered for shape in endpoint_shapes(snapshot("dev")).values()] == [frozenset()]


def test_moving_a_live_endpoint_to_inference_components_is_one_hazard_with_the_procedure():
    # What dev had deployed before its model became an inference component, updated to what it is now.
    baseline, new = models_on_variants(snapshot("dev")), snapshot("dev")
    assert [(shape.hosts_components, shape.registered) for shape in endpoint_shapes(baseline).values()] == [
        (False, {"primary"})
    ]
    [hazard] = find_hazards(baseline, new, environment="dev", stack="dev-Inference")
    assert (hazard.kind, hazard.endpoint, hazard.before, hazard.after) == (
        "hosting",
        "governed-agents-dev-llm",
        False,
        True,
    )
    message = hazard.message
    assert message.startswith(
        "dev/dev-Inference: endpoint governed-agents-dev-llm: the update switches its hosting from "
        "models on its variants to inference components"
    )
    assert "Safe procedure: change `inference.endpoint_name` in config/dev.yaml together with the hosting" in message
    # The other way round is the same hazard.
    [back] = find_hazards(new, baseline, environment="dev", stack="dev-Inference")
    assert back.kind == "hosting" and "from inference components to models on its variants" in back.message


def test_moving_to_inference_components_under_a_new_endpoint_name_is_not_an_update():
    new = copy.deepcopy(snapshot("dev"))
    [endpoint_resource] = of_type(new, "AWS::SageMaker::Endpoint").values()
    endpoint_resource["Properties"]["EndpointName"] = "governed-agents-dev-llm-2"  # the documented procedure
    assert find_hazards(models_on_variants(snapshot("dev")), new, environment="dev", stack="dev-Inference") == []
