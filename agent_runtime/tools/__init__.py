"""Tool registry for the support-triage agent.

Every public module ``agent_runtime/tools/<name>.py`` that defines a Strands ``@tool`` function
also called ``<name>`` is a tool. Adding a tool is therefore one file here plus its name in the
enabled-tool list (configured elsewhere, from an environment variable). Modules whose name starts
with ``_`` are private helpers and never offered as tools.

Only the standard library and ``strands`` may be imported by this package.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from typing import Any

from strands.types.tools import AgentTool

__all__ = ["available_tools", "load_tools", "tool_specs"]


def available_tools() -> list[str]:
    """Return the sorted names of the tool modules in this package (discovered with pkgutil)."""
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if not info.ispkg and not info.name.startswith("_")
    )


def load_tools(names: list[str]) -> list[AgentTool]:
    """Import ``agent_runtime.tools.<name>`` for each name and return its ``<name>`` tool.

    Names are stripped; blanks and repeats are dropped (first occurrence keeps its position), so
    a list parsed from ``"a, b,,a"`` loads ``[a, b]``. Only discovered module names are ever
    imported, so a configuration value cannot import arbitrary modules.

    Raises:
        ValueError: a name is not an available tool (the message names every unknown name and
            lists the available ones), or a module does not define a Strands tool of its own name.
    """
    wanted = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    available = available_tools()
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise ValueError(
            f"Unknown tool(s): {', '.join(repr(n) for n in unknown)}. "
            f"Available tools: {', '.join(available) or '(none)'}."
        )
    tools = []
    for name in wanted:
        module = importlib.import_module(f"{__name__}.{name}")
        obj = getattr(module, name, None)
        if not isinstance(obj, AgentTool):
            raise ValueError(f"Module {module.__name__} must define a Strands @tool function named {name!r}.")
        if obj.tool_name != name:
            raise ValueError(
                f"Tool in module {module.__name__} is named {obj.tool_name!r}; "
                f"it must be named {name!r} so configuration and model see the same name."
            )
        tools.append(obj)
    return tools


def tool_specs(tools: list[AgentTool]) -> list[dict[str, Any]]:
    """Return a deep copy of each tool's Strands spec, sorted by tool name.

    Each item is ``{"name", "description", "inputSchema": {"json": <JSON schema>}}`` (plus any other
    key Strands puts in the spec), so a digest of ``json.dumps(result, sort_keys=True)`` changes
    when a tool is added, removed, renamed, re-described or its parameters change, and does not
    depend on the order of the enabled-tool list.
    """
    return [copy.deepcopy(dict(t.tool_spec)) for t in sorted(tools, key=lambda t: t.tool_name)]
