"""`make bench-agent`'s statistics and report parsing (the benchmark itself is not a test: speed is
measured by running it, not asserted here)."""

from __future__ import annotations

import json
import os
import re

import pytest

from tools import bench_agent

LAST_LINE = re.compile(
    r"agent_overhead p50_ratio=\d+\.\d{3} p95_ratio=\d+\.\d{3} cold_init_s=\d+\.\d{2} "
    r"lambda_warm_overhead_ms=-?\d+\.\d conc32_p50_ratio=\d+\.\d{3} cpu_ms_per_turn=\d+\.\d "
    r"conc32_p50_ratio_s3=\d+\.\d{3}"
)


def test_the_last_line_has_every_key_in_the_issues_order():
    line = bench_agent.report_line(
        p50_ratio=1.2345,
        p95_ratio=1.5,
        cold_init_s=2.345,
        lambda_warm_overhead_ms=12.34,
        conc32_p50_ratio=1.0712,
        cpu_ms_per_turn=11.26,
        conc32_p50_ratio_s3=1.2345,
    )
    assert line == (
        "agent_overhead p50_ratio=1.234 p95_ratio=1.500 cold_init_s=2.35 lambda_warm_overhead_ms=12.3 "
        "conc32_p50_ratio=1.071 cpu_ms_per_turn=11.3 conc32_p50_ratio_s3=1.234"
    )
    assert LAST_LINE.fullmatch(line)
    # The pattern is strict enough to catch a reordered or missing key.
    assert not LAST_LINE.fullmatch(line.replace("cold_init_s", "cold_s"))
    assert not LAST_LINE.fullmatch(" ".join(line.split()[:-1]))


def test_a_tracing_overhead_below_zero_still_formats():
    # Tracing on can measure a hair faster than off once its cost is gone: noise, not an error.
    line = bench_agent.report_line(
        p50_ratio=1,
        p95_ratio=1,
        cold_init_s=1,
        lambda_warm_overhead_ms=-0.44,
        conc32_p50_ratio=1,
        cpu_ms_per_turn=1,
        conc32_p50_ratio_s3=1,
    )
    assert "lambda_warm_overhead_ms=-0.4 " in line and LAST_LINE.fullmatch(line)


def test_percentiles_interpolate_between_samples():
    values = [float(v) for v in range(1, 101)]  # 1..100
    summary = bench_agent.Summary.of(values)
    assert summary.p50 == 50.5
    assert summary.p95 == pytest.approx(95.05)
    assert summary.count == 100
    assert bench_agent.Summary.of([1.0, 3.0]).p50 == 2.0
    with pytest.raises(ValueError, match="at least 2"):
        bench_agent.Summary.of([1.0])


def test_cpu_time_is_user_plus_system_ticks_even_with_a_strange_command_name():
    # proc(5): field 2 is the command in parentheses and may itself hold spaces and ')'.
    fields = ["0"] * 50
    fields[13], fields[14] = "250", "50"  # utime, stime (fields 14 and 15, 1-based)
    stat = "4242 (python -m a) b) " + " ".join(fields[2:])
    assert bench_agent.cpu_seconds_from_stat(stat, 100) == 3.0
    # Counting fields from the start of the line, as if the name had no spaces, reads other fields.
    naive = stat.split()
    assert (int(naive[13]) + int(naive[14])) / 100 != 3.0


def test_own_process_cpu_reads_from_proc():
    before = bench_agent.process_cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))  # burn some CPU
    assert bench_agent.process_cpu_seconds(os.getpid()) > before


def test_the_childs_report_is_found_among_its_json_log_lines():
    report = {"import_s": 0.9, "first_answer_s": 2.1, "times_s": [0.07], "cpu_s": [0.01]}
    stdout = "\n".join(
        [
            json.dumps({"level": "INFO", "message": "request", "status": 200}),
            json.dumps({"bench_report": report}),
            json.dumps({"_aws": {"CloudWatchMetrics": []}, "Latency": 70.0}),  # a metrics line after it
            "not json at all",
        ]
    )
    assert bench_agent.report_from_output(stdout) == report


def test_output_without_a_report_is_an_error_naming_the_key():
    logs_only = json.dumps({"level": "INFO", "message": "request", "elapsed": 1.0})
    with pytest.raises(ValueError, match="bench_report"):
        bench_agent.report_from_output(logs_only)
