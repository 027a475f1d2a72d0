"""A dashboard body as CloudFormation holds it (a JSON string, or an Fn::Join with deploy-time values)."""

from __future__ import annotations

import json

import pytest

from governance.metric_math.dashboard_queries import TOKEN, UnreadableDashboardBody, dashboard_groups
from governance.metric_math.queries import Query


def joined(body: dict, token_at: str) -> dict:
    """`body` as CDK writes it: an Fn::Join whose part at `token_at` is a Ref."""
    before, after = json.dumps(body).split(token_at)
    return {"DashboardBody": {"Fn::Join": ["", [before, {"Ref": "AWS::Region"}, after]]}}


BODY = {
    "widgets": [
        {"type": "text", "properties": {"markdown": "# title"}},
        {
            "type": "metric",
            "properties": {
                "title": "Model latency (ms)",
                "region": "REGION",
                "period": 60,
                "metrics": [
                    [{"label": "p50", "expression": "latency / 1000", "period": 60}],
                    ["AWS/SageMaker", "ModelLatency", "EndpointName", "e", {"id": "latency", "visible": False}],
                    ["...", {"stat": "p99"}],
                ],
            },
        },
        {"type": "metric", "properties": {"annotations": {"alarms": ["arn:alarm"]}}},  # an alarm widget
        {"type": "metric", "properties": {"metrics": [["AWS/Lambda", "Errors"]]}},
        "not a widget",
    ]
}


def test_every_metric_widget_is_a_group_and_deploy_time_values_are_placeholders():
    latency, untitled = dashboard_groups(joined(BODY, "REGION"))
    assert (latency.kind, latency.name, latency.period) == ("widget", "Model latency (ms)", 60)
    assert latency.queries == (
        Query(0, None, "latency / 1000", 60, True),
        Query(1, "latency", None, None, False),
        Query(2, None, None, None, True),
    )
    assert untitled.name == "widget3"


def test_a_body_given_as_a_plain_string_or_a_sub_is_read():
    assert len(dashboard_groups({"DashboardBody": json.dumps(BODY)})) == 2
    substituted = json.dumps(BODY).replace("REGION", "${AWS::Region}")
    (latency, _) = dashboard_groups({"DashboardBody": {"Fn::Sub": substituted}})
    assert latency.name == "Model latency (ms)"


def test_a_token_inside_an_expression_stays_visible_to_the_checker():
    body = {"widgets": [{"type": "metric", "properties": {"metrics": [[{"expression": "m1 * PLACE"}]]}}]}
    (group,) = dashboard_groups(joined(body, "PLACE"))
    assert group.queries[0].expression == f"m1 * {TOKEN}"


@pytest.mark.parametrize(
    "body",
    [
        {"Ref": "BodyParameter"},  # the whole body at deploy time
        {"Fn::Join": ["", ['{"widgets": [', {"Ref": "Widgets"}, "]}"]]},  # a token that is not inside a string
        '{"start": "-PT3H"}',  # no widgets array
    ],
)
def test_a_body_that_cannot_be_read_is_said_so(body):
    with pytest.raises(UnreadableDashboardBody):
        dashboard_groups({"DashboardBody": body})
