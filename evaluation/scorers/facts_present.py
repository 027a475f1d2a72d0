"""facts_present: every expected fact appears in the answer (case-insensitive substring).

A fact given as a list passes when any one of its alternatives appears ("Europe-2" or
"US-East-2"). A case with no facts passes when the answer is not empty.
"""

from __future__ import annotations

from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer

from evaluation.scorers._answer import failed_request


def missing_facts(answer: str, alternatives: list[list[str]]) -> list[list[str]]:
    text = answer.casefold()
    return [options for options in alternatives if not any(option.casefold() in text for option in options)]


@scorer(name="facts_present")
def facts_present(outputs: dict, expectations: dict) -> Feedback:
    if failure := failed_request(outputs):
        return failure
    answer = outputs.get("answer") or ""
    alternatives = expectations.get("fact_alternatives", [])
    if not alternatives:
        return Feedback(
            value=bool(answer.strip()),
            rationale="no facts expected; answer " + ("given" if answer.strip() else "empty"),
        )
    missing = missing_facts(answer, alternatives)
    shown = ["/".join(options) for options in missing]
    return Feedback(
        value=not missing,
        rationale=f"{len(alternatives) - len(missing)}/{len(alternatives)} facts present"
        + (f"; missing: {shown}" if missing else ""),
    )
