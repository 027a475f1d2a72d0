"""Load profiles (how much traffic, for how long) and prompt sets (what the traffic says).

Every run is bounded twice: by wall time (the stages' durations) and by a request cap, and both
are checked against hard caps so no flag or file can ask for unbounded traffic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kit_config.strict_yaml import DuplicateKeyError, load_unique_keys
from kit_config.validation_errors import describe

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"

# Hard caps: the CLI refuses anything above them, whatever the profile or flags say.
MAX_CONCURRENCY = 64
MAX_STAGE_SECONDS = 1800
MAX_TOTAL_SECONDS = 3600
MAX_REQUESTS = 10_000
MAX_STAGES = 12
MAX_TOKENS = 4096


class LoadtestError(Exception):
    """Bad input, with a message naming the flag, file or field; the CLI prints it and exits 2."""


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    concurrency: Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]
    seconds: Annotated[float, Field(gt=0, le=MAX_STAGE_SECONDS)]


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str
    stages: Annotated[list[Stage], Field(min_length=1, max_length=MAX_STAGES)]
    max_requests: Annotated[int, Field(ge=1, le=MAX_REQUESTS)]
    prompt_set: str
    max_tokens: Annotated[int, Field(ge=1, le=MAX_TOKENS)]
    # The run fails (exit 1) above this error rate; None: errors are only reported.
    max_error_rate: Annotated[float | None, Field(ge=0, le=1)] = None

    @model_validator(mode="after")
    def _bounded_in_time(self) -> Profile:
        total = sum(stage.seconds for stage in self.stages)
        if total > MAX_TOTAL_SECONDS:
            raise ValueError(f"stages last {total:.0f} s together, above the hard cap of {MAX_TOTAL_SECONDS} s")
        return self

    @property
    def total_seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)

    @property
    def peak_concurrency(self) -> int:
        return max(stage.concurrency for stage in self.stages)


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        # 48 tokens: the real SmolLM2 model (~118 tok/s on 2 cores, one generation at a time) answers
        # in well under a second, so 12 requests take seconds, not minutes.
        Profile(
            name="smoke",
            description="a quick check that the path works and is measured",
            stages=[Stage(concurrency=2, seconds=30)],
            max_requests=12,
            prompt_set="support_triage",
            max_tokens=48,
            max_error_rate=0.0,
        ),
        Profile(
            name="steady",
            description="constant load at a typical concurrency",
            stages=[Stage(concurrency=4, seconds=300)],
            max_requests=2000,
            prompt_set="support_triage",
            max_tokens=256,
        ),
        Profile(
            name="burst",
            description="a short spike well above the autoscaling target",
            stages=[Stage(concurrency=32, seconds=60)],
            max_requests=500,
            prompt_set="short",
            max_tokens=256,
        ),
        Profile(
            name="ramp",
            description="concurrency doubling each minute: where latency bends",
            stages=[Stage(concurrency=c, seconds=60) for c in (1, 2, 4, 8, 16)],
            max_requests=3000,
            prompt_set="support_triage",
            max_tokens=256,
        ),
    )
}


def resolve_profile(
    name: str,
    *,
    concurrency: int | None = None,
    duration: float | None = None,
    requests: int | None = None,
    stages: str | None = None,
    max_tokens: int | None = None,
) -> Profile:
    """The named profile with the flags' overrides applied, validated against the hard caps."""
    if name not in PROFILES:
        raise LoadtestError(f"--profile {name!r}: unknown profile (known: {', '.join(PROFILES)})")
    profile = PROFILES[name]
    data = profile.model_dump()
    if stages is not None:
        if concurrency is not None or duration is not None:
            raise LoadtestError(
                "--stages replaces the whole schedule: do not combine it with --concurrency or --duration"
            )
        data["stages"] = _parse_stages(stages)
    elif concurrency is not None or duration is not None:
        if len(profile.stages) > 1:
            raise LoadtestError(
                f"--concurrency/--duration: profile {name!r} has {len(profile.stages)} stages; "
                "give the whole schedule with --stages C:S,C:S,..."
            )
        stage = data["stages"][0]
        data["stages"] = [
            {
                "concurrency": concurrency if concurrency is not None else stage["concurrency"],
                "seconds": duration if duration is not None else stage["seconds"],
            }
        ]
    if requests is not None:
        data["max_requests"] = requests
    if max_tokens is not None:
        data["max_tokens"] = max_tokens
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        raise LoadtestError(_describe(error)) from None


_FLAG_OF_FIELD = {
    "concurrency": "--concurrency",
    "seconds": "--duration",
    "max_requests": "--requests",
    "max_tokens": "--max-tokens",
    "stages": "--stages",
}


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_url=False):
        field = next((str(part) for part in reversed(item["loc"]) if isinstance(part, str)), "")
        flag = _FLAG_OF_FIELD.get(field, field or "--stages/--duration")  # model-level: the total time
        lines.append(
            f"{flag}: {item['msg'].removeprefix('Value error, ')} (hard caps: concurrency ≤ {MAX_CONCURRENCY}, "
            f"stage ≤ {MAX_STAGE_SECONDS} s, run ≤ {MAX_TOTAL_SECONDS} s, requests ≤ {MAX_REQUESTS}, "
            f"max tokens ≤ {MAX_TOKENS})"
        )
    return "\n".join(lines)


def _parse_stages(text: str) -> list[dict]:
    stages = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        concurrency, sep, seconds = item.partition(":")
        try:
            if not sep:
                raise ValueError
            stages.append({"concurrency": int(concurrency), "seconds": float(seconds)})
        except ValueError:
            raise LoadtestError(f"--stages: {item!r} is not CONCURRENCY:SECONDS (e.g. --stages 1:30,4:60)") from None
    if not stages:
        raise LoadtestError("--stages: give at least one CONCURRENCY:SECONDS stage")
    return stages


# -- prompt sets ----------------------------------------------------------------------------------
class Conversation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    turns: Annotated[list[Annotated[str, Field(min_length=1, max_length=8000)]], Field(min_length=1, max_length=20)]


class PromptSet(BaseModel):
    """Conversations; one pass through a conversation is a session (see docs/loadtest.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    conversations: Annotated[list[Conversation], Field(min_length=1)]

    @property
    def mean_turns_per_session(self) -> float:
        return sum(len(c.turns) for c in self.conversations) / len(self.conversations)


def load_prompt_set(name_or_path: str) -> PromptSet:
    """A shipped set by name (loadtest/prompts/NAME.yaml) or any YAML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROMPTS_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml")))
            raise LoadtestError(
                f"--prompts {name_or_path!r}: no such prompt set (shipped: {known}; or give a .yaml path)"
            )
    if not path.is_file():
        raise LoadtestError(f"--prompts {name_or_path!r}: file not found")
    try:
        data = load_unique_keys(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, DuplicateKeyError) as error:
        raise LoadtestError(f"{path}: not valid YAML: {error}") from None
    try:
        return PromptSet.model_validate(data)
    except ValidationError as error:
        raise LoadtestError(
            describe(str(path), error, unknown_key_hint="a prompt set has `name` and `conversations`")
        ) from None
