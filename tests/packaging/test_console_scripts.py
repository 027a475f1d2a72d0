"""The CLIs as console scripts of the installed (editable) distribution: each entry point loads,
and one runs from outside the checkout exactly as its `python -m` module does."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

from kit_config.project import PROJECT_DIR


def test_every_console_script_loads_a_main_function():
    scripts = [ep for ep in distribution("governed-agent-kit").entry_points if ep.group == "console_scripts"]
    assert {ep.name for ep in scripts} >= {"kit-check-config", "kit-local", "kit-diff", "agent-lineage"}
    for entry_point in scripts:
        main = entry_point.load()
        assert callable(main) and main.__name__ == "main", entry_point


def test_a_console_script_runs_from_anywhere_like_its_module(tmp_path):
    script = Path(sys.executable).parent / "kit-check-config"
    by_script = subprocess.run([str(script), "dev"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    by_module = subprocess.run(
        [sys.executable, "-m", "kit_config", "dev"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert by_script.returncode == 0, by_script.stderr
    assert by_script.stdout == by_module.stdout and "dev.yaml: ok" in by_script.stdout
    refused = subprocess.run([str(script), "nope"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "nope" in refused.stderr
