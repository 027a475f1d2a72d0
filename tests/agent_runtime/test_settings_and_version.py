"""Runtime settings come from AGENT_* variables; the agent version changes exactly when behaviour can."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent_runtime.settings import RuntimeSettings
from agent_runtime.tools import load_tools, tool_specs
from agent_runtime.version import agent_version


def specs(settings: RuntimeSettings) -> list[dict]:
    return tool_specs(load_tools(settings.tools))


def test_settings_read_typed_values_from_the_environment(env):
    env.setenv("AGENT_MAX_TOKENS", "256")
    env.setenv("AGENT_STOP", '["</s>", "Observation:"]')
    env.setenv("AGENT_TOOLS", '["current_time"]')
    env.setenv("AGENT_TARGET_VARIANT", "challenger")
    settings = RuntimeSettings()
    assert (
        settings.max_tokens == 256 and settings.stop == ["</s>", "Observation:"] and settings.tools == ["current_time"]
    )
    assert settings.payload_parameters() == {
        "max_tokens": 256,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["</s>", "Observation:"],
    }
    assert settings.endpoint_settings()["target_variant"] == "challenger"
    assert "Example Corp" in settings.system_prompt and "{organisation}" not in settings.system_prompt


def test_bad_settings_fail_at_startup_naming_the_variable(env):
    env.setenv("AGENT_TEMPERATURE", "7")
    with pytest.raises(ValidationError, match="temperature"):
        RuntimeSettings()


def test_missing_endpoint_is_an_error(env):
    env.delenv("AGENT_ENDPOINT_NAME")
    with pytest.raises(ValidationError, match="endpoint_name"):
        RuntimeSettings()


def test_environment_variable_names_cover_every_field():
    names = RuntimeSettings.environment_variables()
    assert {"AGENT_ENDPOINT_NAME", "AGENT_TARGET_VARIANT", "AGENT_MLFLOW_TRACKING_URI", "AGENT_SESSION_BUCKET"} <= names
    assert len(names) == len(RuntimeSettings.model_fields)


def test_version_is_deterministic(env):
    settings = RuntimeSettings()
    assert agent_version(settings, specs(settings)) == agent_version(RuntimeSettings(), specs(RuntimeSettings()))
    assert agent_version(settings, specs(settings)).startswith("agent-")


@pytest.mark.parametrize(
    "variable, value",
    [
        ("AGENT_TEMPERATURE", "0.7"),
        ("AGENT_MAX_TOKENS", "1024"),
        ("AGENT_STOP", '["END"]'),
        ("AGENT_TOOLS", '["current_time"]'),
        ("AGENT_TARGET_VARIANT", "challenger"),
        ("AGENT_ENDPOINT_NAME", "other-endpoint"),
        ("AGENT_MAX_CYCLES", "2"),
    ],
)
def test_version_changes_with_anything_that_shapes_an_answer(env, variable, value):
    before = agent_version(RuntimeSettings(), specs(RuntimeSettings()))
    env.setenv(variable, value)
    assert agent_version(RuntimeSettings(), specs(RuntimeSettings())) != before


def test_version_changes_with_the_prompt_text_and_not_with_the_environment_name(env, tmp_path):
    before = agent_version(RuntimeSettings(), specs(RuntimeSettings()))
    env.setenv("AGENT_ENV_NAME", "staging")  # rendered into the prompt, but the template is what is versioned
    assert agent_version(RuntimeSettings(), specs(RuntimeSettings())) == before
    prompt = tmp_path / "prompt.md"
    prompt.write_text(RuntimeSettings().system_prompt_template + "\nAlways answer in French.")
    env.setenv("AGENT_SYSTEM_PROMPT_FILE", str(prompt))
    assert agent_version(RuntimeSettings(), specs(RuntimeSettings())) != before
