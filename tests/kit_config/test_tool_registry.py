"""`agent.runtime.tools` names tools the agent's registry has, found without importing strands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agent_runtime.settings import DEFAULT_TOOLS
from kit_config import load_environment
from kit_config.project import PROJECT_DIR
from kit_config.tool_registry import registered_tools
from tests.kit_config.conftest import assert_rejected, edit


def test_config_sees_the_registry_the_runtime_loads_from():
    from agent_runtime.tools import available_tools  # imports strands: the runtime tier's registry

    assert list(registered_tools()) == available_tools()
    assert set(DEFAULT_TOOLS) <= set(registered_tools())  # the default the config inherits loads too


def test_a_tool_module_added_to_the_package_is_a_tool_name_config_accepts(tmp_path, monkeypatch):
    """The names come from the folder, not from a list: a new public module is a name, `_private` is not."""
    import agent_runtime

    package = tmp_path / "agent_runtime"
    (package / "tools").mkdir(parents=True)
    for name in ("__init__", "lookup_order", "_helpers"):
        (package / "tools" / f"{name}.py").write_text("")
    monkeypatch.setattr(agent_runtime, "__path__", [str(package)])
    monkeypatch.delitem(sys.modules, "agent_runtime.tools", raising=False)  # else find_spec answers from it
    registered_tools.cache_clear()
    try:
        assert registered_tools() == ("lookup_order",)
    finally:
        registered_tools.cache_clear()


def test_shipped_tool_lists_load():
    assert load_environment("dev").agent.runtime.tools == DEFAULT_TOOLS


@pytest.mark.parametrize(
    "tools, words",
    [
        (["current_time", "web_search"], "no tool named 'web_search' in agent_runtime/tools"),
        (["Current_Time"], "no tool named 'Current_Time'"),
        (["_helpers"], "no tool named '_helpers'"),
        (["current_time", "current_time"], "'current_time' listed more than once"),
    ],
)
def test_unknown_or_repeated_tool_names_the_field(config_dir, tools, words):
    edit(config_dir, "staging", lambda d: d["agent"]["runtime"].update(tools=tools))
    assert_rejected(config_dir, "staging", "agent.runtime.tools", words)


def test_the_refusal_lists_the_available_tools(config_dir):
    edit(config_dir, "dev", lambda d: d["agent"]["runtime"].update(tools=["web_search"]))
    assert_rejected(config_dir, "dev", "agent.runtime.tools", "available: " + ", ".join(registered_tools()))


def test_checking_tool_names_imports_no_runtime_tier():
    """The synth tier does not install strands: loading every environment must not import it."""
    probe = (
        "import json, sys\n"
        "from kit_config import load_environments\n"
        "load_environments()\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules} | "
        "({'agent_runtime.tools'} & set(sys.modules)))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=True
    )
    imported = set(json.loads(result.stdout))
    assert imported & {"strands", "mlflow", "agent_runtime.tools"} == set()
