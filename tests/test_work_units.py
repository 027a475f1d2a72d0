"""The xdist scheduler's work units (tests/work_units.py): a file per unit, and the files that use
the session's synthesized app together in one unit, the real-model files in another, as the workers
reported them."""

from __future__ import annotations

import json

from tests.work_units import REAL_MODEL_UNIT, SYNTHESIZED_UNIT, reported_units, work_unit


def test_files_using_the_synthesized_app_or_the_real_model_share_a_unit_and_every_other_file_is_its_own(tmp_path):
    (tmp_path / "gw0.json").write_text(json.dumps({"synthesized": ["tests/test_cfn_lint.py"], "real_model": []}))
    (tmp_path / "gw1.json").write_text(
        json.dumps(
            {
                "synthesized": ["tests/test_cfn_lint.py", "tests/stacks/test_snapshots.py"],
                "real_model": ["tests/test_demo.py", "tests/loadtest/test_aiperf_agreement.py"],
            }
        )
    )
    (tmp_path / "gw1.partial").write_text("[")  # a report still being written is not read
    shared = reported_units(tmp_path)
    units = [
        work_unit(nodeid, shared)
        for nodeid in (
            "tests/test_cfn_lint.py::test_template_passes_cfn_lint[dev-Agent]",
            "tests/stacks/test_snapshots.py::test_snapshot[prod]",
            "tests/test_demo.py::test_demo_answers_and_traces_every_request",
            "tests/loadtest/test_aiperf_agreement.py::test_loadtest_and_aiperf_agree",
            "tests/release/test_diff.py::test_unknown_environment",
            "tests/release/test_diff.py::test_unknown_base_ref_is_a_clear_error",
        )
    ]
    assert units == [
        SYNTHESIZED_UNIT,
        SYNTHESIZED_UNIT,
        REAL_MODEL_UNIT,
        REAL_MODEL_UNIT,
        "tests/release/test_diff.py",
        "tests/release/test_diff.py",
    ]
