"""Tool registry: discovery, loading by name, errors, deterministic specs, Strands invocation."""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

import agent_runtime.tools as registry
from agent_runtime.tools import available_tools, load_tools, tool_specs
from kit_config.project import PROJECT_DIR

REPO = PROJECT_DIR
TOOLS_DIR = REPO / "agent_runtime" / "tools"
SHIPPED = ["classify_ticket_priority", "current_time", "search_knowledge_base"]


def test_available_tools_lists_the_shipped_modules_sorted():
    assert available_tools() == SHIPPED


def test_load_tools_returns_strands_tools_in_requested_order():
    tools = load_tools(["search_knowledge_base", "current_time"])
    assert [t.tool_name for t in tools] == ["search_knowledge_base", "current_time"]
    module = importlib.import_module("agent_runtime.tools.current_time")
    assert tools[1] is module.current_time
    assert tools[1]("UTC")["timezone"] == "UTC"  # still directly callable


def test_load_tools_strips_blanks_and_duplicates():
    tools = load_tools([" current_time ", "", "current_time", "search_knowledge_base"])
    assert [t.tool_name for t in tools] == ["current_time", "search_knowledge_base"]
    assert load_tools([]) == []


def test_unknown_tool_names_are_rejected_with_available_list():
    with pytest.raises(ValueError) as err:
        load_tools(["current_time", "send_email", "os"])
    msg = str(err.value)
    assert "'send_email'" in msg and "'os'" in msg
    assert "Available tools: classify_ticket_priority, current_time, search_knowledge_base" in msg


@pytest.mark.parametrize("name", ["_private", "tools.current_time", "../current_time", "__init__"])
def test_names_that_are_not_tool_modules_are_rejected(name):
    with pytest.raises(ValueError, match="Unknown tool"):
        load_tools([name])


@pytest.fixture
def drop_in(tmp_path, monkeypatch):
    """Write a module into an extra directory of the package's __path__, as if dropped in."""
    monkeypatch.setattr(registry, "__path__", [*registry.__path__, str(tmp_path)])
    written = []

    def write(name: str, source: str) -> None:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(f"agent_runtime.tools.{name}")
        importlib.invalidate_caches()

    yield write
    for mod in written:
        sys.modules.pop(mod, None)


def test_a_new_tool_module_is_discovered_and_loaded(drop_in):
    drop_in(
        "lookup_on_call",
        '''
        from strands import tool

        @tool
        def lookup_on_call(team: str) -> str:
            """Return who is on call for a team.

            Args:
                team: Team name.
            """
            return f"on call for {team}: alice"
        ''',
    )
    assert "lookup_on_call" in available_tools()
    (t,) = load_tools(["lookup_on_call"])
    assert t("network") == "on call for network: alice"
    specs = tool_specs(load_tools(available_tools()))
    assert [s["name"] for s in specs] == sorted(SHIPPED + ["lookup_on_call"])


def test_module_without_a_tool_of_its_name_is_rejected(drop_in):
    drop_in("not_a_tool", "def not_a_tool():\n    return 1\n")
    with pytest.raises(ValueError, match="must define a Strands @tool function named 'not_a_tool'"):
        load_tools(["not_a_tool"])


def test_tool_whose_name_differs_from_its_module_is_rejected(drop_in):
    drop_in(
        "renamed",
        '''
        from strands import tool

        @tool(name="something_else")
        def renamed() -> str:
            """Renamed."""
            return ""
        ''',
    )
    with pytest.raises(ValueError, match="is named 'something_else'"):
        load_tools(["renamed"])


def test_tool_specs_sorted_complete_and_order_independent():
    forward = tool_specs(load_tools(SHIPPED))
    backward = tool_specs(load_tools(list(reversed(SHIPPED))))
    assert forward == backward
    assert [s["name"] for s in forward] == SHIPPED
    by_name = {s["name"]: s for s in forward}
    assert by_name["search_knowledge_base"]["inputSchema"]["json"]["required"] == ["query"]
    props = by_name["classify_ticket_priority"]["inputSchema"]["json"]["properties"]
    assert set(props) == {"summary", "affected_users", "service"}
    assert props["affected_users"]["type"] == "integer" and props["affected_users"]["default"] == 1
    assert by_name["current_time"]["inputSchema"]["json"]["properties"]["timezone"]["default"] == "UTC"
    for spec in forward:  # descriptions come from docstrings, without the Args section
        assert spec["description"] and "Args:" not in spec["description"]
        for prop in spec["inputSchema"]["json"]["properties"].values():
            assert not prop["description"].startswith("Parameter "), "parameter missing from Args:"
    json.dumps(forward)


def test_tool_specs_returns_copies():
    (t,) = load_tools(["current_time"])
    tool_specs([t])[0]["inputSchema"]["json"]["properties"].clear()
    assert tool_specs([t])[0]["inputSchema"]["json"]["properties"]


def test_tool_specs_identical_across_processes_and_hash_seeds():
    code = (
        "import json, agent_runtime.tools as t;"
        "print(json.dumps(t.tool_specs(t.load_tools(t.available_tools())), sort_keys=True))"
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=REPO, check=True, capture_output=True, text=True
            ).stdout
        )
    assert len(outs) == 1


@pytest.mark.parametrize(
    ("name", "tool_input", "expected_key"),
    [
        ("search_knowledge_base", {"query": "vpn gateway not reachable"}, "results"),
        ("classify_ticket_priority", {"summary": "prod API down", "affected_users": 50}, "priority"),
        ("current_time", {"timezone": "Asia/Tokyo"}, "iso8601"),
    ],
)
def test_tools_run_through_the_strands_agent_path(name, tool_input, expected_key):
    (t,) = load_tools([name])

    async def run():
        events = [e async for e in t.stream({"toolUseId": "t1", "name": name, "input": tool_input}, {})]
        return events[-1].tool_result

    result = asyncio.run(run())
    assert result["status"] == "success", result
    assert expected_key in json.loads(result["content"][0]["text"])


def test_invalid_input_from_the_model_becomes_an_error_result_not_an_exception():
    (t,) = load_tools(["classify_ticket_priority"])

    async def run():
        events = [
            e async for e in t.stream({"toolUseId": "t1", "name": t.tool_name, "input": {"affected_users": "many"}}, {})
        ]
        return events[-1].tool_result

    assert asyncio.run(run())["status"] == "error"


def test_package_stays_lean_stdlib_and_strands_only():
    allowed = set(sys.stdlib_module_names) | {"strands", "agent_runtime", "__future__"}
    for path in TOOLS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            assert set(roots) <= allowed, f"{path.name} imports {roots}"


def test_loading_every_tool_imports_neither_cdk_nor_sagemaker():
    code = (
        "import sys, agent_runtime.tools as t; t.load_tools(t.available_tools());"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'jsii', 'sagemaker'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=os.environ,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.strip() == "[]"
