"""Scenarios of the scripted test-double model: what it answers, how fast, and how it fails.

A request picks its scenario, first match wins:
  1. the custom attribute `scenario=NAME` (boto3 `CustomAttributes="scenario=slow_tokens;delay_ms=20"`,
     Strands `endpoint_config={"additional_args": {"CustomAttributes": ...}}`), with optional parameters;
  2. a marker `[scenario:NAME]` in the last user message, parameters after semicolons
     (`[scenario:timeout;sleep_s=5]`): how a caller that only sends prompts, such as the agent, picks one;
  3. the server's `--scenario` (default `echo`).
Any scenario accepts `split=1`: each streamed chunk (one JSON line, as LMI sends it) then leaves in
two HTTP chunks cut mid-JSON, so PayloadParts do not align with lines (SageMaker does not promise
they do). And `framing=sse`: the stream as vLLM's own OpenAI server frames it (`data: ` lines, then
`data: [DONE]`, `text/event-stream`) instead of LMI's JSON lines, as an endpoint serving vLLM's own
image rather than LMI would send it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from local_runtime.openai_chat import JSON_LINES, SSE, flatten_content, last_user_text

_MARKER = re.compile(r"\[scenario:([a-z_]+)((?:;[a-z_]+=[^;\]\s]*)*)\]")

# name -> what it does (README and --help list these)
SCENARIOS = {
    "echo": "answers 'You said: <last user message>' (default)",
    "multi_turn": "answers 'Turn N: ...' counting the user turns it was sent",
    "tool_call": "calls the first tool (or tool=NAME) with arguments from its schema; after the tool result, answers with it",
    "slow_tokens": "echo, one token every delay_ms (default 50)",
    "fixed_latency": "echo after latency_ms (default 500) before the first byte",
    "throttle": "HTTP 429 from the container (AWS: ModelError, OriginalStatusCode 429)",
    "server_error": "HTTP 500 from the container (AWS: ModelError, OriginalStatusCode 500)",
    "timeout": "no answer for sleep_s (default 65; beyond the invocation timeout)",
    "stream_break": "after_tokens tokens (default 3), then the connection is cut (AWS: ModelStreamError StreamBroken)",
    "malformed_chunk": "after_tokens tokens, then invalid HTTP chunk framing (AWS: ModelStreamError StreamBroken)",
    "stream_error": (
        'after_tokens tokens, then vLLM\'s error line {"error": {...}} and the normal end of the stream (HTTP 200); '
        'error=lmi: LMI\'s own {"code": 424, "error": ...} as the last bytes (rolling batch, a failing formatter)'
    ),
    "malformed_event": "a non-JSON `data:` line mid-stream, passed through as bytes (clients skip it)",
}
FAULTS = ("throttle", "server_error", "timeout", "stream_break", "malformed_chunk", "stream_error", "malformed_event")


@dataclass
class Plan:
    scenario: str
    text: str = ""
    tool_calls: list[dict] = field(default_factory=list)  # openai_chat.tool_call dicts
    latency_s: float = 0.0
    token_delay_s: float = 0.0
    fault: str | None = None
    after_tokens: int = 3
    sleep_s: float = 65.0
    split_events: bool = False  # stream each chunk in two HTTP chunks (parameter split=1)
    framing: str | None = None  # content type of parameter framing=sse|jsonlines; None: as the route frames
    error_form: str = "vllm"  # stream_error's report: vLLM's error line, or LMI's own error object (error=lmi)


def parse_custom_attributes(value: str | None) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in re.split(r"[;,]", value or "") if "=" in item)
    return {key.strip(): val.strip() for key, val in pairs}


def choose(request: dict, custom_attributes: str | None, default: str) -> tuple[str, dict[str, str]]:
    params = parse_custom_attributes(custom_attributes)
    name = params.get("scenario")
    if not name:
        marker = _MARKER.search(last_user_text(request.get("messages") or []))
        if marker:
            name, params = marker.group(1), {**params, **parse_custom_attributes(marker.group(2))}
        else:
            name = default
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return name, params


def plan(request: dict, custom_attributes: str | None = None, default: str = "echo") -> Plan:
    name, params = choose(request, custom_attributes, default)
    messages = request.get("messages") or []
    said = _MARKER.sub("", last_user_text(messages)).strip()
    result = Plan(name, text=f"You said: {said}")
    result.after_tokens = int(params.get("after_tokens", 3))
    result.split_events = params.get("split") in ("1", "true")
    result.framing = _FRAMINGS[_known(params, "framing", (None, *_FRAMINGS))]
    if name == "stream_error":
        result.error_form = _known(params, "error", (None, *ERROR_FORMS)) or ERROR_FORMS[0]
    if name == "multi_turn":
        turns = sum(1 for m in messages if m.get("role") == "user")
        result.text = f"Turn {turns}: {said}"
    elif name == "tool_call":
        _tool_turn(result, request, params)
    elif name == "slow_tokens":
        result.token_delay_s = float(params.get("delay_ms", 50)) / 1000
    elif name == "fixed_latency":
        result.latency_s = float(params.get("latency_ms", 500)) / 1000
    elif name in FAULTS:
        result.fault = name
        result.sleep_s = float(params.get("sleep_s", 65))
    return result


_FRAMINGS = {None: None, "sse": SSE, "jsonlines": JSON_LINES}
ERROR_FORMS = ("vllm", "lmi")  # stream_error's `error=`: who reports the failure


def _known(params: dict[str, str], name: str, known) -> str | None:
    """The parameter's value (None when absent), refused unless it is one of `known`."""
    value = params.get(name)
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(k for k in known if k)}")
    return value


def _tool_turn(result: Plan, request: dict, params: dict[str, str]) -> None:
    messages = request.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        result.text = f"The tool returned: {flatten_content(messages[-1].get('content'))}"
        return
    tools = [tool.get("function", {}) for tool in request.get("tools") or []]
    wanted = params.get("tool")
    tool = next((t for t in tools if t.get("name") == wanted), None) if wanted else (tools[0] if tools else None)
    if tool is None:
        result.text = "No tool to call." if not wanted else f"No tool named {wanted}."
        return
    turn = sum(1 for m in messages if m.get("role") == "user")
    arguments = json.dumps(sample_arguments(tool.get("parameters") or {}))
    result.text = ""
    result.tool_calls = [
        {
            "index": 0,
            "id": f"call_scripted_{turn}",
            "type": "function",
            "function": {"name": tool["name"], "arguments": arguments},
        }
    ]


def sample_arguments(schema: dict) -> dict:
    """Deterministic arguments satisfying a JSON schema's required properties (and typed optional ones)."""
    samples = {"string": "example", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    arguments = {}
    for name, prop in (schema.get("properties") or {}).items():
        if "enum" in prop:
            arguments[name] = prop["enum"][0]
        elif "default" in prop:
            arguments[name] = prop["default"]
        else:
            arguments[name] = samples.get(prop.get("type"), "example")
    return arguments


def tokens(text: str) -> list[str]:
    """Word-sized tokens keeping their leading whitespace, so joined deltas equal the text."""
    return re.findall(r"\s*\S+", text) or ([text] if text else [])
