"""The agent's tool names, discovered the way the runtime discovers them, without importing strands.

`agent_runtime.tools.available_tools()` is the registry: every public module of the
`agent_runtime/tools` package (pkgutil, not a package, name not starting with `_`). That package
imports strands, which the synth tier does not install (tests/test_app.py checks `app.py` imports
none of it), so config load finds the package's folder with `importlib.util.find_spec` (which
imports only the parent `agent_runtime`, a dependency-free package) and lists it with the same
rule. tests/kit_config/test_tool_registry.py checks both give the same names.

A name the registry lacks would pass synth and fail every cold start: `load_tools` raises
"Unknown tool(s)" when the Lambda function or Fargate task builds its agent.
"""

from __future__ import annotations

import importlib.util
import pkgutil
from functools import lru_cache

TOOLS_PACKAGE = "agent_runtime.tools"


@lru_cache(maxsize=1)
def registered_tools() -> tuple[str, ...]:
    """Sorted tool names: the public modules of agent_runtime/tools (agent_runtime.tools.available_tools' rule)."""
    spec = importlib.util.find_spec(TOOLS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{TOOLS_PACKAGE} is not an installed package: the tool names cannot be checked")
    return tuple(
        sorted(
            info.name
            for info in pkgutil.iter_modules(list(spec.submodule_search_locations))
            if not info.ispkg and not info.name.startswith("_")
        )
    )


def check_tool_names(names: list[str]) -> list[str]:
    """`names` unchanged, or ValueError naming each unknown or repeated tool and the registry's tools."""
    known = registered_tools()
    unknown = [name for name in names if name not in known]
    repeated = sorted({name for name in names if names.count(name) > 1})
    problems = []
    if unknown:
        problems.append(
            f"no tool named {', '.join(map(repr, unknown))} in agent_runtime/tools (the agent would fail to start: "
            f"Unknown tool(s)); available: {', '.join(known) or '(none)'}"
        )
    if repeated:
        problems.append(f"{', '.join(map(repr, repeated))} listed more than once")
    if problems:
        raise ValueError("; ".join(problems))
    return names
