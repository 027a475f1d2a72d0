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


def expressions(properties: dict) -> list[dict]:
    return [row[0] for row in properties["metrics"] if isinstance(row[0], dict) and "expression" in row[0]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_model_latency_percentiles_per_variant_in_milliseconds(synthesized, env):
    config = synthesized.configs[env].inference
    latency = widget(dashboard(synthesized, env), "Model latency")
    rows = plain_metrics(latency)
    expected = {(v.name, p) for v in config.variants for p in ("p50", "p95", "p99")}
    assert {(r["dims"]["VariantName"], r["stat"]) for r in rows if r["name"] == "ModelLatency"} == expected
    assert {r["dims"]["EndpointName"] for r in rows} == {config.endpoint_name}
    assert all(not r["visible"] for r in rows)  # only the /1000 expressions are drawn
    assert all(e["expression"].endswith(" / 1000") for e in expressions(latency)) and len(expressions(latency)) == len(
        expected
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_invocations_errors_and_gpu_per_variant(synthesized, env):
    config = synthesized.configs[env].inference
    board = dashboard(synthesized, env)
    variants = {v.name for v in config.variants}
    invocations = plain_metrics(widget(board, "Invocations per variant"))
    assert {(r["name"], r["dims"]["VariantName"], r["stat"]) for r in invocations} == {
        ("Invocations", v, "Sum") for v in variants
    }
    errors = plain_metrics(widget(board, "Endpoint errors"))
    assert {(r["name"], r["dims"]["VariantName"]) for r in errors} == {
        (name, v) for v in variants for name in ("Invocation4XXErrors", "Invocation5XXErrors")
    }
    gpu = plain_metrics(widget(board, "GPU utilization"))
    assert {r["namespace"] for r in gpu} == {"/aws/sagemaker/Endpoints"}
    assert {(r["name"], r["dims"]["VariantName"]) for r in gpu} == {
        (name, v) for v in variants for name in ("GPUUtilization", "GPUMemoryUtilization")
    }
    assert {r["dims"]["EndpointName"] for r in invocations + errors + gpu} == {config.endpoint_name}


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
                if metric["Namespace"] in ("AWS/SageMaker", "/aws/sagemaker/Endpoints", NAMESPACE):
                    dims = tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]))
                    watched.add((metric["Namespace"], metric["MetricName"], dims))
    assert len(watched) >= 4 and watched <= shown, sorted(watched - shown)
