"""An `AWS::CloudWatch::Dashboard`'s metric widgets as QueryGroups.

`DashboardBody` is a JSON string ("Dashboard Body Structure and Syntax", CloudWatch API reference:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
CDK writes it as an `Fn::Join` whose parts include deploy-time values (`{"Ref": "AWS::Region"}`); each
such value is read as the placeholder TOKEN, which is harmless inside a JSON string (a region, a title).
An expression that needs the value itself cannot be checked and is reported as unparsable.

Each metric widget's `properties.metrics` rows are either `[{"expression": ..., "id": ..., "period": ...}]`
or a metric `[Namespace, MetricName, dimension..., {"id": ..., "period": ..., "visible": ...}]`
("Metric Widget: Format for Each Metric in the Array").
"""

from __future__ import annotations

import json
import re
from typing import Any

from governance.metric_math.queries import Query, QueryGroup

TOKEN = "{{token}}"


class UnreadableDashboardBody(ValueError):
    pass


def dashboard_groups(properties: dict[str, Any]) -> list[QueryGroup]:
    """One group per metric widget that has a metrics array."""
    body = _parsed_body(properties.get("DashboardBody"))
    widgets = body.get("widgets") if isinstance(body, dict) else None
    if not isinstance(widgets, list):
        raise UnreadableDashboardBody("the body has no widgets array")
    groups = []
    for index, widget in enumerate(widgets):
        if not isinstance(widget, dict) or widget.get("type") != "metric":
            continue
        widget_properties = widget.get("properties")
        if not isinstance(widget_properties, dict):
            continue
        rows = widget_properties.get("metrics")
        if not isinstance(rows, list):
            continue  # an alarm widget: it shows an alarm, not metrics
        queries = tuple(query for position, row in enumerate(rows) if (query := _row_query(position, row)))
        title = widget_properties.get("title")
        groups.append(
            QueryGroup(
                kind="widget",
                name=title if isinstance(title, str) and title else f"widget{index}",
                queries=queries,
                period=widget_properties.get("period"),
            )
        )
    return groups


def _row_query(position: int, row: Any) -> Query | None:
    if not isinstance(row, list) or not row:
        return None
    options = row[-1] if isinstance(row[-1], dict) else {}
    expression = options.get("expression")
    return Query(
        position=position,
        id=options.get("id"),
        expression=expression if isinstance(expression, str) else None,
        period=options.get("period"),
        returned=options.get("visible", True) is not False,
    )


def _parsed_body(body: Any) -> Any:
    text = _resolved_text(body)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableDashboardBody(f"not JSON once deploy-time values are placeholders: {error}") from None


def _resolved_text(value: Any) -> str:
    """The body's text, every deploy-time value replaced by TOKEN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, arguments),) = value.items()
        if function == "Fn::Join" and isinstance(arguments, list) and len(arguments) == 2:
            separator, parts = arguments
            if isinstance(separator, str) and isinstance(parts, list):
                return separator.join(_resolved_text(part) if isinstance(part, str | dict) else TOKEN for part in parts)
        if function == "Fn::Sub":
            template = arguments[0] if isinstance(arguments, list) else arguments
            if isinstance(template, str):
                return re.sub(r"\$\{(?!!)[^}]*\}", TOKEN, template)
        if function in ("Fn::Join", "Fn::Sub"):
            raise UnreadableDashboardBody(f"an {function} the check cannot read")
        return TOKEN  # Ref, Fn::GetAtt, Fn::ImportValue ...: one deploy-time value
    raise UnreadableDashboardBody(f"a body of type {type(value).__name__}")
