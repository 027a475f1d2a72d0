"""The agent over its HTTP API (`POST {url}/invoke`): the same client for a local stack or a deployed agent.

Every turn carries the caller's credentials (`headers`: a bearer token) and starts a new session
(no `session_id`: the agent issues one), so cases never see each other's history."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


class AgentUnreachable(Exception):
    """The agent's /health did not answer (wrong --agent-url, or the agent is not running)."""


def health(agent_url: str, timeout: float = 5.0) -> dict:
    """The agent's `/health` body: status, agent_version, endpoint, env."""
    try:
        with urllib.request.urlopen(f"{agent_url.rstrip('/')}/health", timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError) as error:  # URLError, refused connections and bad bodies alike
        raise AgentUnreachable(f"no agent answers at {agent_url}/health ({error})") from None


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def invoke(agent_url: str, prompt: str, timeout: float, headers: dict[str, str] | None = None) -> dict:
    """One turn in a fresh session (cases must not see each other's history).

    Returns the agent's final answer, or `{"error", "status"}` when the agent answered with an
    error or not at all: a failed case is a result to score, not a reason to stop the evaluation.
    """
    body = json.dumps({"prompt": prompt}).encode()
    request = urllib.request.Request(
        f"{agent_url.rstrip('/')}/invoke", data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:300]
        return {"error": f"HTTP {error.code}: {detail}", "status": error.code}
    except (OSError, ValueError) as error:
        return {"error": f"{type(error).__name__}: {error}", "status": None}


def prediction(final: dict) -> dict:
    """What the scorers read (and MLflow records as the row's outputs) from one final answer."""
    if final.get("error"):
        return {"answer": "", "error": final["error"], "status": final.get("status")}
    usage = final.get("usage") or {}
    return {
        "answer": final.get("answer") or "",
        "tools_used": list(usage.get("tools_used") or []),
        "latency_ms": usage.get("latency_ms"),
        "estimated_cost_usd": usage.get("estimated_cost_usd"),
        "output_tokens": usage.get("output_tokens"),
        "model_calls": usage.get("model_calls"),
        "stop_reason": final.get("stop_reason"),
        "agent_version": final.get("agent_version"),
        "agent_trace_id": final.get("trace_id"),
    }
