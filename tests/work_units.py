"""pytest-xdist work units (`--dist loadfile`, set in pyproject.toml).

A test file is one unit, so a module's local stack (its module-scoped fixtures) starts once. Every
file that uses the session's `synthesized` app is one unit together, so the app is synthesized by
one worker, not by each (≈ 10 s of CPU per worker on 2 cores); every file of the `real_model` tier
is one unit too, so no two real-model servers (or AIPerf) run side by side. The controller schedules by node id
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
# Every file that runs the real model (the `real_model` tier) is one unit too, so one worker runs them in
# turn: a llama.cpp server spins on its threads, and two beside each other on 2 cores (or one beside
# AIPerf's half-dozen service processes) slowed generation to seconds per token, past the emulator's 60 s
# invocation timeout (the demo and `make loadtest` each failed so in CI).
REAL_MODEL_UNIT = "real-model"
_WORKER_INPUT_KEY = "kit_work_units_dir"
_UNITS_DIR = pytest.StashKey[Path]()


def _units_dir(config: pytest.Config) -> Path:
    if _UNITS_DIR not in config.stash:
        config.stash[_UNITS_DIR] = Path(tempfile.mkdtemp(prefix="kit-xdist-units-"))
    return config.stash[_UNITS_DIR]


def reported_units(units_dir: Path) -> dict[str, str]:
    """{file: its shared unit} as the workers reported them (each writes what it collected)."""
    units: dict[str, str] = {}
    for path in sorted(units_dir.glob("*.json")):
        report = json.loads(path.read_text())
        units.update(dict.fromkeys(report["synthesized"], SYNTHESIZED_UNIT))
        units.update(dict.fromkeys(report["real_model"], REAL_MODEL_UNIT))  # wins: the real model is the scarcer
    return units


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def work_unit(nodeid: str, shared_units: dict[str, str]) -> str:
    file = file_of(nodeid)
    return shared_units.get(file, file)


class SynthesizeOnceScheduling(LoadFileScheduling):
    def __init__(self, config: pytest.Config, log, units_dir: Path) -> None:
        super().__init__(config, log)
        self._units_dir = units_dir
        self._shared_units: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._shared_units is None:  # first called once every worker has collected
            self._shared_units = reported_units(self._units_dir)
        return work_unit(nodeid, self._shared_units)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    return SynthesizeOnceScheduling(config, log, _units_dir(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[_WORKER_INPUT_KEY] = str(_units_dir(node.config))


@pytest.hookimpl(trylast=True)  # after tests/conftest.py has marked the tiers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    units_dir = getattr(config, "workerinput", {}).get(_WORKER_INPUT_KEY)
    if units_dir is None:  # not an xdist worker
        return
    synthesized = {file_of(item.nodeid) for item in items if "synthesized" in getattr(item, "fixturenames", ())}
    real_model = {file_of(item.nodeid) for item in items if item.get_closest_marker("real_model")}
    report = Path(units_dir) / f"{config.workerinput['workerid']}.json"
    partial = report.with_suffix(".partial")
    partial.write_text(json.dumps({"synthesized": sorted(synthesized), "real_model": sorted(real_model)}))
    partial.replace(report)  # the controller never reads half a file


def pytest_unconfigure(config: pytest.Config) -> None:
    if _UNITS_DIR in config.stash:
        shutil.rmtree(config.stash[_UNITS_DIR], ignore_errors=True)
