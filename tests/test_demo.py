"""`make demo` end to end: the real small model answers a streamed multi-turn conversation over
HTTP and every request's trace is found in MLflow (the same script users run)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit_config.project import PROJECT_DIR

pytestmark = pytest.mark.real_model


def test_demo_answers_and_traces_every_request():
    result = subprocess.run(
        [sys.executable, "tools/demo.py"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=900
    )
    last = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert last == "demo ok requests=3 traces=3"
    assert result.stdout.count("agent> ") == 3 and "[final:" in result.stdout
