"""Config fields that set a runtime setting take their default and bounds from `RuntimeSettings`.

`agent_runtime.settings.RuntimeSettings` is the one home of the runtime's options: a config field
that decides one of them (`agent.runtime.max_tokens`, `agent.identity.max_turns_per_caller`, ...)
is declared with `runtime_field("max_tokens")` and so has the same default and the same bounds.
Where the config is deliberately stricter than the runtime (whole seconds, a smaller maximum), the
field says so (`runtime_field("request_timeout_seconds", ge=1)`), and only a bound at least as tight
as the runtime's is accepted. tests/kit_config/test_runtime_fields.py checks that every runtime
setting is either decided by config or named in `runtime_environment.NOT_FROM_CONFIG`.
"""

from __future__ import annotations

import copy
from typing import Any

import annotated_types
from pydantic import Field
from pydantic.fields import FieldInfo

from agent_runtime.settings import RuntimeSettings

# The json_schema_extra key that records which runtime setting a config field sets.
RUNTIME_SETTING_KEY = "runtime_setting"
_LOWER = {"ge": annotated_types.Ge, "gt": annotated_types.Gt}
_UPPER = {"le": annotated_types.Le, "lt": annotated_types.Lt}
_BOUND_TYPES = {**_LOWER, **_UPPER}


def setting_bounds(field: FieldInfo) -> dict[str, float]:
    """`{"ge": 1, "le": 32768}`: a field's numeric bounds, whether declared in `Annotated` or `Field`."""
    bounds = {}
    for constraint in field.metadata:
        for name, kind in _BOUND_TYPES.items():
            if isinstance(constraint, kind):
                bounds[name] = getattr(constraint, name)
    return bounds


def runtime_field(setting: str, *, description: str | None = None, **narrowed: float) -> Any:
    """A config field for `RuntimeSettings.<setting>`: its default and bounds, or `narrowed` bounds
    that are at least as tight (ValueError otherwise, and KeyError for a setting the runtime lacks)."""
    source = RuntimeSettings.model_fields[setting]
    bounds = setting_bounds(source)
    for name, value in narrowed.items():
        if name not in _BOUND_TYPES:
            raise ValueError(f"{setting}: {name!r} is not a bound (one of {sorted(_BOUND_TYPES)})")
        if not _within(name, value, bounds):
            raise ValueError(f"{setting}: {name}={value} is looser than the runtime's bounds {bounds}")
        # The narrowed bound replaces the runtime's bound on the same side.
        side = _LOWER if name in _LOWER else _UPPER
        bounds = {key: bound for key, bound in bounds.items() if key not in side}
        bounds[name] = value
    return Field(
        default=copy.deepcopy(source.default),
        description=description,
        json_schema_extra={RUNTIME_SETTING_KEY: setting},
        **bounds,
    )


def _within(name: str, value: float, bounds: dict[str, float]) -> bool:
    """Whether the bound `name=value` admits no value that `bounds` refuses."""
    if name in _LOWER:
        if "ge" in bounds and value < bounds["ge"]:
            return False
        return not ("gt" in bounds and (value < bounds["gt"] or (value == bounds["gt"] and name == "ge")))
    if "le" in bounds and value > bounds["le"]:
        return False
    return not ("lt" in bounds and (value > bounds["lt"] or (value == bounds["lt"] and name == "le")))


def runtime_setting_of(field: FieldInfo) -> str | None:
    """The runtime setting a config field was declared for with `runtime_field`, if any."""
    extra = field.json_schema_extra
    return extra.get(RUNTIME_SETTING_KEY) if isinstance(extra, dict) else None
