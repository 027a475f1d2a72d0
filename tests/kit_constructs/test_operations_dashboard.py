"""OperationsDashboard: every widget reads the env's endpoint and variants, and the agent's EMF metrics."""

from __future__ import annotations

import json

import pytest

from agent_runtime.metrics import NAMESPACE
from tests.helpers import ENVIRONMENTS, only, resources

AGENT_METRICS = (
    "Latency",
    "TimeToFirstToken",
    "InputTokens",
    "OutputTokens",
    "ModelCalls",
    "ToolCalls",
    "Retries",
    "TracingFailures",
    "EstimatedCostUSD",
    "Requests",
    "Errors",
    "Throttled",
)


def dashboard(synthesized, env: str) -> dict:
    body = only(resources(synthesized.templates[(env, "Observability")], "AWS::CloudWatch::Dashboard"))["Properties"][
        "DashboardBody"
    ]
    # The body is a Fn::Join of literal JSON and {"Ref": "AWS::Region"}; put the region back in.
    text = "".join(part if isinstance(part, str) else synthesized.configs[env].region for part in body["Fn::Join"][1])
    return json.loads(text)


def widget(board: dict, title_start: str) -> dict:
    return next(w["properties"] for w in board["widgets"] if w["properties"].get("title", "").startswith(title_start))


def plain_metrics(properties: dict) -> list[dict]:
    """[namespace, name, dim, value, dim, value, {options}] rows as dicts (math expressions skipped)."""
    rows = []
    for row in properties["metrics"]:
        if isinstance(row[0], str):
            *head, options = row
            rows.append(
                {
                    "namespace": head[0],
                    "name": head[1],
                    "dims": dict(zip(head[2::2], head[3::2], strict=True)),
                    **options,
                }
            )
    return rows


def served_dims(config, variant: str) -> tuple:
    """The dimensions that name what serves `variant`: its inference component, or the variant itself."""
    component = next(v for v in config.variants if v.name == variant).component_name(config.endpoint_name)
    if component:
        return (("InferenceComponentName", component),)
    return (("EndpointName", config.endpoint_name), ("VariantName", variant))


def dims(row: dict) -> tuple:
    return tuple(sorted(row["dims"].items()))


def expressions(properties: dict) -> list[dict]:
    return [row[0] for row in properties["metrics"] if isinstance(row[0], dict) and "expression" in row[0]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_model_latency_percentiles_per_variant_in_milliseconds(synthesized, env):
    config = synthesized.configs[env].inference
    latency = widget(dashboard(synthesized, env), "Model latency")
    rows = plain_metrics(latency)
    expected = {(served_dims(config, v.name), p) for v in config.variants for p in ("p50", "p95", "p99")}
    assert {(dims(r), r["stat"]) for r in rows if r["name"] == "ModelLatency"} == expected
    assert all(not r["visible"] for r in rows)  # only the /1000 expressions are drawn
    assert all(e["expression"].endswith(" / 1000") for e in expressions(latency)) and len(expressions(latency)) == len(
        expected
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_invocations_errors_and_gpu_per_variant(synthesized, env):
    config = synthesized.configs[env].inference
    board = dashboard(synthesized, env)
    served = {served_dims(config, v.name) for v in config.variants}
    invocations = plain_metrics(widget(board, "Invocations per variant"))
    assert {(r["name"], dims(r), r["stat"]) for r in invocations} == {("Invocations", d, "Sum") for d in served}
    errors = plain_metrics(widget(board, "Endpoint errors"))
    refusals = {"NoCapacityInvocationFailures"} if config.hosts_inference_components else set()
    assert {(r["name"], dims(r)) for r in errors} == {
        (name, d) for d in served for name in {"Invocation4XXErrors", "Invocation5XXErrors", *refusals}
    }
    gpu = plain_metrics(widget(board, "GPU utilization"))
    if config.hosts_inference_components:
        namespace = "/aws/sagemaker/InferenceComponents"
        names = ("GPUUtilizationNormalized", "GPUMemoryUtilizationNormalized")
    else:
        namespace, names = "/aws/sagemaker/Endpoints", ("GPUUtilization", "GPUMemoryUtilization")
    assert {r["namespace"] for r in gpu} == {namespace}
    assert {(r["name"], dims(r)) for r in gpu} == {(name, d) for d in served for name in names}


def test_copy_count_of_a_component_is_invocations_over_invocations_per_copy(synthesized):
    copies = widget(dashboard(synthesized, "dev"), "Copies per inference component")
    ids = {r["id"]: r["name"] for r in plain_metrics(copies)}
    [expression] = expressions(copies)
    numerator, denominator = expression["expression"].split(" / ")
    assert (ids[numerator], ids[denominator]) == ("Invocations", "InvocationsPerCopy")
    assert expression["label"] == "primary copies"


def test_instance_count_is_invocations_over_invocations_per_instance(synthesized):
    instances = widget(dashboard(synthesized, "staging"), "Instances per variant")  # two variants
    ids = {r["id"]: (r["name"], r["dims"]["VariantName"]) for r in plain_metrics(instances)}
    for expression in expressions(instances):
        numerator, denominator = expression["expression"].split(" / ")
        assert ids[numerator][0] == "Invocations" and ids[denominator][0] == "InvocationsPerInstance"
        assert ids[numerator][1] == ids[denominator][1] and expression["label"] == f"{ids[numerator][1]} instances"
    assert len(expressions(instances)) == 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_agent_metric_with_the_runtime_dimensions(synthesized, env):
    board = dashboard(synthesized, env)
    agent_rows = [
        r
        for w in board["widgets"]
        if "metrics" in w["properties"]
        for r in plain_metrics(w["properties"])
        if r["namespace"] == NAMESPACE
    ]
    assert {r["name"] for r in agent_rows} == set(AGENT_METRICS)
    assert {tuple(sorted(r["dims"].items())) for r in agent_rows} == {(("Environment", env), ("service", "agent"))}
    latency = plain_metrics(widget(board, "Agent latency and time to first token"))
    assert {(r["name"], r["stat"]) for r in latency} == {
        (n, p) for n in ("Latency", "TimeToFirstToken") for p in ("p50", "p95", "p99")
    }


def test_cost_per_request_divides_summed_cost_by_summed_requests(synthesized):
    cost = widget(dashboard(synthesized, "prod"), "Estimated model cost")
    ids = {r.get("id"): (r["name"], r["stat"]) for r in plain_metrics(cost)}
    (per_request,) = expressions(cost)
    numerator, denominator = per_request["expression"].split(" / ")
    assert ids[numerator] == ("EstimatedCostUSD", "Sum") and ids[denominator] == ("Requests", "Sum")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_endpoint_and_runtime_alarm_watches_a_metric_the_dashboard_shows(synthesized, env):
    """Alarms and dashboard take their metrics from the same construct methods (metric_*)."""
    board = dashboard(synthesized, env)
    shown = {
        (r["namespace"], r["name"], tuple(sorted(r["dims"].items())))
        for w in board["widgets"]
        if "metrics" in w["properties"]
        for r in plain_metrics(w["properties"])
    }
    watched = set()
    for stack in ("Inference", "Agent"):
        for alarm in resources(synthesized.templates[(env, stack)], "AWS::CloudWatch::Alarm").values():
            properties = alarm["Properties"]
            metrics = [properties] if "MetricName" in properties else []
            metrics += [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
            for metric in metrics:
                if metric["Namespace"] in (
                    "AWS/SageMaker",
                    "/aws/sagemaker/Endpoints",
                    "/aws/sagemaker/InferenceComponents",
                    NAMESPACE,
                ):
                    dims = tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]))
                    watched.add((metric["Namespace"], metric["MetricName"], dims))
    assert len(watched) >= 4 and watched <= shown, sorted(watched - shown)
