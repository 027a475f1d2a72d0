"""pytest-xdist work units (`--dist loadfile`, set in pyproject.toml).

A test file is one unit, so a module's local stack (its module-scoped fixtures) starts once. Every
file that uses the session's `synthesized` app is one unit together, so the app is synthesized by
one worker, not by each (≈ 10 s of CPU per worker on 2 cores); the heaviest real-model files
(`ONE_AT_A_TIME_FILES`) are one unit too, so they never run side by side. The controller schedules by node id
only; the workers, which see the fixtures, tell it which files those are through a file per worker.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

SYNTHESIZED_UNIT = "synthesized-app"
# Files that must not run beside each other: AIPerf starts its own real model server and half a dozen
# service processes (each importing transformers and pandas), and a real-model conversation beside it on
# 2 cores stalls past the emulator's 60 s invocation timeout (the demo failed so in CI). One unit: one
# worker runs them one after the other.
ONE_AT_A_TIME_UNIT = "real-model-heavy"
ONE_AT_A_TIME_FILES = frozenset({"tests/loadtest/test_aiperf_agreement.py", "tests/test_demo.py"})
_WORKER_INPUT_KEY = "kit_work_units_dir"
_UNITS_DIR = pytest.StashKey[Path]()


def _units_dir(config: pytest.Config) -> Path:
    if _UNITS_DIR not in config.stash:
        config.stash[_UNITS_DIR] = Path(tempfile.mkdtemp(prefix="kit-xdist-units-"))
    return config.stash[_UNITS_DIR]


def reported_files(units_dir: Path) -> set[str]:
    """The files the workers found using `synthesized` (each worker writes the list it collected)."""
    return set().union(*(json.loads(path.read_text()) for path in units_dir.glob("*.json")))


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def work_unit(nodeid: str, synthesized_files: set[str]) -> str:
    file = file_of(nodeid)
    if file in ONE_AT_A_TIME_FILES:
        return ONE_AT_A_TIME_UNIT
    return SYNTHESIZED_UNIT if file in synthesized_files else file


class SynthesizeOnceScheduling(LoadFileScheduling):
    def __init__(self, config: pytest.Config, log, units_dir: Path) -> None:
        super().__init__(config, log)
        self._units_dir = units_dir
        self._synthesized_files: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._synthesized_files is None:  # first called once every worker has collected
            self._synthesized_files = reported_files(self._units_dir)
        return work_unit(nodeid, self._synthesized_files)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    return SynthesizeOnceScheduling(config, log, _units_dir(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[_WORKER_INPUT_KEY] = str(_units_dir(node.config))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    units_dir = getattr(config, "workerinput", {}).get(_WORKER_INPUT_KEY)
    if units_dir is None:  # not an xdist worker
        return
    files = sorted({file_of(item.nodeid) for item in items if "synthesized" in getattr(item, "fixturenames", ())})
    report = Path(units_dir) / f"{config.workerinput['workerid']}.json"
    partial = report.with_suffix(".partial")
    partial.write_text(json.dumps(files))
    partial.replace(report)  # the controller never reads half a file


def pytest_unconfigure(config: pytest.Config) -> None:
    if _UNITS_DIR in config.stash:
        shutil.rmtree(config.stash[_UNITS_DIR], ignore_errors=True)
