"""The agent version: a deterministic fingerprint of everything that shapes an answer.

Same prompt text, payload parameters, tool names and schemas, endpoint settings and package
version -> same id; change any of them -> a new id, registered once in MLflow.
"""

from __future__ import annotations

import hashlib
import json

from agent_runtime import __version__
from agent_runtime.settings import RuntimeSettings


def version_material(settings: RuntimeSettings, tool_specs: list[dict]) -> dict:
    return {
        "package_version": __version__,
        "system_prompt": settings.system_prompt_template,
        "parameters": settings.payload_parameters(),
        "tools": tool_specs,
        "endpoint": settings.endpoint_settings(),
        "limits": {"max_cycles": settings.max_cycles, "max_tool_calls": settings.max_tool_calls},
    }


def agent_version(settings: RuntimeSettings, tool_specs: list[dict]) -> str:
    canonical = json.dumps(version_material(settings, tool_specs), sort_keys=True, separators=(",", ":"))
    return "agent-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
