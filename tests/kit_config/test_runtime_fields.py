"""The runtime's settings have one home: config fields for them carry RuntimeSettings' defaults and bounds,
and every runtime setting is either decided by config or explicitly left at the runtime's default."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from agent_runtime.settings import RuntimeSettings
from kit_config import load_environment
from kit_config.agent_schema import AgentRuntimeOptions, FargateAgent, LambdaAgent
from kit_config.runtime_environment import NOT_FROM_CONFIG, runtime_environment
from kit_config.runtime_fields import RUNTIME_SETTING_KEY, runtime_field, runtime_setting_of, setting_bounds
from kit_config.schema import EnvironmentConfig
from tests.kit_config.conftest import config_models, edit

# Where config is deliberately stricter than the runtime, and how (whole seconds: the Lambda timeout
# and the load balancer's idle timeout are derived from the request timeout).
NARROWED = {"request_timeout_seconds": {"ge": 1, "le": 900}}
# Config fields hold YAML's whole numbers where the runtime accepts fractions.
NARROWED_TYPES = {"request_timeout_seconds": (int, float), "jwt_leeway_seconds": (int, float)}


def runtime_fields_of(*roots: type[BaseModel]) -> dict[tuple[str, str], str]:
    """{(model, field): runtime setting} for every config field declared with runtime_field."""
    found = {}
    for root in roots:
        for model in config_models(root):
            for name, field in model.model_fields.items():
                if setting := runtime_setting_of(field):
                    found[(model.__name__, name)] = setting
    return found


def drift(model: type[BaseModel]) -> list[str]:
    """Every way `model`'s runtime fields differ from RuntimeSettings (default, bounds, type)."""
    problems = []
    for name, field in model.model_fields.items():
        setting = runtime_setting_of(field)
        if setting is None:
            continue
        if setting not in RuntimeSettings.model_fields:
            problems.append(f"{name}: RuntimeSettings has no {setting}")
            continue
        source = RuntimeSettings.model_fields[setting]
        if field.default != source.default:
            problems.append(f"{name}: default {field.default!r} != runtime's {source.default!r}")
        expected = NARROWED.get(setting, setting_bounds(source))
        if setting_bounds(field) != expected:
            problems.append(f"{name}: bounds {setting_bounds(field)} != {expected}")
        if field.annotation != source.annotation and (field.annotation, source.annotation) != NARROWED_TYPES.get(
            setting
        ):
            problems.append(f"{name}: type {field.annotation} != runtime's {source.annotation}")
    return problems


CONFIG_ROOTS = (LambdaAgent, FargateAgent)


def test_config_fields_for_runtime_settings_have_the_runtime_defaults_and_bounds():
    found = runtime_fields_of(*CONFIG_ROOTS)
    assert {("LambdaIdentity", "max_turns_per_caller"), ("JwtVerification", "leeway_seconds")} <= set(found)
    models = {model.__name__: model for root in CONFIG_ROOTS for model in config_models(root)}
    for model_name in {model for model, _ in found}:
        assert drift(models[model_name]) == [], model_name


def test_every_runtime_option_is_a_runtime_setting_of_the_same_name():
    """A field added to `agent.runtime` must be a RuntimeSettings field (runtime_field raises otherwise)."""
    assert {name: runtime_setting_of(field) for name, field in AgentRuntimeOptions.model_fields.items()} == {
        name: name for name in AgentRuntimeOptions.model_fields
    }
    with pytest.raises(KeyError):
        runtime_field("max_token")  # misspelt: no such setting


def test_a_hand_copied_default_or_bound_is_drift():
    marker = {RUNTIME_SETTING_KEY: "max_tokens"}

    class StaleDefault(BaseModel):
        max_tokens: int = Field(default=256, ge=1, le=32768, json_schema_extra=marker)

    class StaleBound(BaseModel):
        max_tokens: int = Field(default=512, ge=1, le=4096, json_schema_extra=marker)

    class Derived(BaseModel):
        max_tokens: int = runtime_field("max_tokens")

    assert drift(StaleDefault) == ["max_tokens: default 256 != runtime's 512"]
    assert drift(StaleBound) == ["max_tokens: bounds {'ge': 1, 'le': 4096} != {'ge': 1, 'le': 32768}"]
    assert drift(Derived) == []


def test_only_tighter_bounds_may_be_declared():
    assert setting_bounds(runtime_field("max_tokens", le=4096)) == {"ge": 1, "le": 4096}
    assert setting_bounds(runtime_field("request_timeout_seconds", ge=1)) == {"ge": 1, "le": 900}
    for looser in ({"le": 65536}, {"ge": 0}):
        with pytest.raises(ValueError, match="looser"):
            runtime_field("max_tokens", **looser)
    with pytest.raises(ValueError, match="looser"):  # ge=0 admits 0, which the runtime's gt=0 refuses
        runtime_field("request_timeout_seconds", ge=0)


def _emitted(config_dir) -> set[str]:
    """The settings runtime_environment sets, over both compute models, deployed and local."""
    edit(config_dir, "prod", lambda a: a["runtime"].update(target_variant="primary"), section="agent")
    names = set()
    for env in ("dev", "prod"):
        config: EnvironmentConfig = load_environment(env, config_dir)
        for where in (
            {"session_bucket": "sessions", "caller_id_kms_key": "arn:aws:kms:us-east-1:111111111111:key/k"},
            {"session_dir": "/tmp/sessions"},
        ):
            environment = runtime_environment(config, mlflow_tracking_uri="arn:mlflow", **where)
            names |= {name.removeprefix("AGENT_").lower() for name in environment}
    return names


def test_every_runtime_setting_comes_from_config_or_is_named_as_not(config_dir):
    """A setting added to RuntimeSettings fails here until config sets it or NOT_FROM_CONFIG names it."""
    emitted = _emitted(config_dir)
    assert emitted | NOT_FROM_CONFIG == set(RuntimeSettings.model_fields)
    assert not emitted & NOT_FROM_CONFIG
    # What config decides, it passes on.
    assert set(runtime_fields_of(*CONFIG_ROOTS).values()) <= emitted
