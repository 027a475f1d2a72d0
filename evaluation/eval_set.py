"""The evaluation set: `evaluation/cases.yaml` validated into typed cases.

Every mistake becomes one `EvalSetError` whose message names the file and the field path
(`cases[3].expected_tools[0]: ...`), so `make eval` stops before anything runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from agent_runtime.tools import available_tools
from kit_config.strict_yaml import DuplicateKeyError, load_unique_keys
from kit_config.validation_errors import describe

DEFAULT_CASES_FILE = Path(__file__).resolve().parent / "cases.yaml"

NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# A fact is one phrase, or a list of alternatives of which any one will do.
Fact = NonBlank | Annotated[list[NonBlank], Field(min_length=1)]


class EvalSetError(Exception):
    """A mistake in an evaluation-set file, with a message naming the file and the field."""


class Budgets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: Annotated[float, Field(gt=0)]
    cost_usd: Annotated[float, Field(ge=0)]


class BudgetOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: Annotated[float, Field(gt=0)] | None = None
    cost_usd: Annotated[float, Field(ge=0)] | None = None


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    prompt: NonBlank
    # Every listed tool must be called; an empty list means the agent must call no tool at all.
    expected_tools: list[NonBlank]
    expected_facts: list[Fact] = []
    budgets: BudgetOverride = BudgetOverride()

    @field_validator("expected_tools")
    @classmethod
    def known_tools(cls, tools: list[str]) -> list[str]:
        unknown = [name for name in tools if name not in available_tools()]
        if unknown:
            raise ValueError(f"unknown tool(s) {unknown}; the agent's tools are {available_tools()}")
        return tools


class EvalSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    budgets: Budgets
    # Used only by the optional LLM judge (scorers/judges.py): what every answer must respect.
    judge_guidelines: list[NonBlank] = []
    cases: Annotated[list[Case], Field(min_length=1)]

    @model_validator(mode="after")
    def unique_cases(self) -> EvalSet:
        for what in ("id", "prompt"):
            seen: set[str] = set()
            values = [getattr(case, what) for case in self.cases]
            repeated = sorted({value for value in values if value in seen or seen.add(value)})
            if repeated:
                raise ValueError(f"case {what}s must be unique; repeated: {repeated}")
        return self

    def budgets_for(self, case: Case) -> Budgets:
        return Budgets(
            latency_ms=case.budgets.latency_ms or self.budgets.latency_ms,
            cost_usd=self.budgets.cost_usd if case.budgets.cost_usd is None else case.budgets.cost_usd,
        )


def load_eval_set(path: Path = DEFAULT_CASES_FILE) -> tuple[EvalSet, str]:
    """The validated set and a digest of the file's bytes (which set a result came from)."""
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f"{path}: no such file (--cases takes a YAML evaluation set)")
    raw = path.read_bytes()
    try:
        data = load_unique_keys(raw.decode("utf-8"))
    except (yaml.YAMLError, DuplicateKeyError, UnicodeDecodeError) as error:
        raise EvalSetError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise EvalSetError(f"{path}: expected a mapping with 'budgets' and 'cases' at the top level")
    try:
        return EvalSet.model_validate(data), hashlib.sha256(raw).hexdigest()[:12]
    except ValidationError as error:
        raise EvalSetError(
            describe(
                str(path), error, hidden=_union_member, unknown_key_hint="see docs/evaluation.md for the case format"
            )
        ) from None


def _union_member(part) -> bool:
    # Union members add their type name to the location (`str`, `list[...]`); the YAML has no such key.
    return isinstance(part, str) and ("[" in part or part == "str")
