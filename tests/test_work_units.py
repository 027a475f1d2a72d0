"""The xdist scheduler's work units (tests/work_units.py): a file per unit, and the files that use
the session's synthesized app together in one unit, as the workers reported them."""

from __future__ import annotations

import json

from tests.work_units import ONE_AT_A_TIME_UNIT, SYNTHESIZED_UNIT, reported_files, work_unit


def test_files_using_the_synthesized_app_are_one_unit_and_every_other_file_its_own(tmp_path):
    (tmp_path / "gw0.json").write_text(json.dumps(["tests/test_cfn_lint.py"]))
    (tmp_path / "gw1.json").write_text(json.dumps(["tests/test_cfn_lint.py", "tests/stacks/test_snapshots.py"]))
    (tmp_path / "gw1.partial").write_text("[")  # a report still being written is not read
    synthesized = reported_files(tmp_path)
    assert synthesized == {"tests/test_cfn_lint.py", "tests/stacks/test_snapshots.py"}
    units = [
        work_unit(nodeid, synthesized)
        for nodeid in (
            "tests/test_cfn_lint.py::test_template_passes_cfn_lint[dev-Agent]",
            "tests/stacks/test_snapshots.py::test_snapshot[prod]",
            "tests/release/test_diff.py::test_unknown_environment",
            "tests/release/test_diff.py::test_unknown_base_ref_is_a_clear_error",
        )
    ]
    assert units == [SYNTHESIZED_UNIT, SYNTHESIZED_UNIT, "tests/release/test_diff.py", "tests/release/test_diff.py"]


def test_the_aiperf_run_and_the_demo_share_a_unit_so_one_worker_runs_them_in_turn():
    units = {
        work_unit(nodeid, set())
        for nodeid in (
            "tests/loadtest/test_aiperf_agreement.py::test_loadtest_and_aiperf_agree_on_ttft_itl_and_output_token_throughput",
            "tests/test_demo.py::test_demo_answers_and_traces_every_request",
        )
    }
    assert units == {ONE_AT_A_TIME_UNIT}
