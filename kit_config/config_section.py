"""The base of every config section: strict, closed and immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigSection(BaseModel):
    # strict: YAML already yields typed values, so "30" for an integer is a mistake, not input
    # to coerce; extra=forbid: a misspelt key must fail loudly rather than be ignored.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
