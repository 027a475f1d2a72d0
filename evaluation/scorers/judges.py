"""Optional LLM judges (MLflow's built-in Correctness and Guidelines), only with a judge model.

The judge model is an MLflow model URI, `<provider>:/<model>` (e.g. `openai:/gpt-4o-mini`,
`anthropic:/claude-3-5-haiku-latest`, `bedrock:/anthropic.claude-3-haiku-20240307-v1:0`); the
provider's own credentials come from its usual environment variables (OPENAI_API_KEY, ...).
"""

from __future__ import annotations

import re

from mlflow.genai.scorers import Correctness, Guidelines, Scorer

JUDGE_MODEL_URI = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*:/\S+$")


def check_judge_model(uri: str) -> str:
    """The URI unchanged, or ValueError naming the expected form."""
    if not JUDGE_MODEL_URI.match(uri or ""):
        raise ValueError(f"{uri!r} is not a judge model URI; use <provider>:/<model>, e.g. openai:/gpt-4o-mini")
    return uri


def judge_scorers(model: str, guidelines: list[str]) -> list[Scorer]:
    scorers: list[Scorer] = [Correctness(model=check_judge_model(model))]  # reads expectations.expected_facts
    if guidelines:
        scorers.append(Guidelines(name="support_guidelines", guidelines=list(guidelines), model=model))
    return scorers
