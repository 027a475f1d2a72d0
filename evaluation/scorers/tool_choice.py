"""tool_choice: the agent called every expected tool; a case expecting none must call none.

Extra tools are allowed (the prompt asks for a priority whenever a problem is reported, so a
knowledge-base case may rightly classify too); order is not judged.
"""

from __future__ import annotations

from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer

from evaluation.scorers._answer import failed_request


@scorer(name="tool_choice")
def tool_choice(outputs: dict, expectations: dict) -> Feedback:
    if failure := failed_request(outputs):
        return failure
    expected = list(expectations.get("expected_tools", []))
    used = list(outputs.get("tools_used") or [])
    if not expected:
        return Feedback(
            value=not used,
            rationale="no tool expected and none called" if not used else f"no tool expected, but it called {used}",
        )
    missing = [name for name in expected if name not in used]
    if missing:
        return Feedback(value=False, rationale=f"expected {expected}; missing {missing}; called {used or 'no tool'}")
    return Feedback(value=True, rationale=f"expected {expected}; called {used}")
