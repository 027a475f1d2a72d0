"""Constants and small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

ENVIRONMENTS = ("dev", "staging", "prod")
STACKS = ("Foundation", "Network")


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only(items: dict) -> dict:
    assert len(items) == 1, f"expected exactly one, got {list(items)}"
    return next(iter(items.values()))
