"""`python -m evaluation` on bad input: a clear error naming the flag or file/field, exit 2, no traceback."""

from __future__ import annotations

import pytest

from evaluation.__main__ import main, unmet_floors


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """`python -m evaluation ARGS`, in this process (a fresh interpreter per case took ≈ 1 s to import
    the evaluation stack; `tests/packaging/test_console_scripts.py` runs the entry point itself):
    (exit code, stderr). Any exception but the CLI's own exit fails the test, as a traceback would."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")  # main() sets it; restored after the test

    def run(*args: str) -> tuple[int, str]:
        try:
            code = main(list(args))
        except SystemExit as exited:  # argparse's usage errors
            code = exited.code
        return code, capsys.readouterr().err

    return run


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--limit", "0"], "error: --limit: must be at least 1"),
        (["--judge-model", "gpt-4o-mini"], "error: --judge-model: 'gpt-4o-mini' is not a judge model URI"),
        (["--min-pass-rate", "tool_choice=1.5"], "error: --min-pass-rate: 'tool_choice=1.5'"),
        (["--concurrency", "64"], "error: --concurrency: must be between 1 and 8"),
        (["--env", "nope"], "error: --env: unknown environment 'nope'"),
        (["--model", "proxy"], "error: --proxy-base-url: required with --model proxy"),
        (["--agent-url", "http://127.0.0.1:9"], "error: --agent-url: no agent answers at http://127.0.0.1:9/health"),
    ],
)
def test_a_bad_flag_is_named_and_exits_2(run_cli, args, expected):
    code, stderr = run_cli(*args)
    assert code == 2, stderr
    assert expected in stderr


def test_a_broken_cases_file_names_the_file_and_the_field(run_cli, tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "budgets: {latency_ms: 1000, cost_usd: 0.01}\ncases:\n  - {id: a, prompt: hi, expected_tools: [ask_a_friend]}\n"
    )
    code, stderr = run_cli("--cases", str(cases), "--agent-url", "http://127.0.0.1:9")
    assert code == 2
    assert f"{cases}: cases[0].expected_tools: unknown tool(s) ['ask_a_friend']" in stderr


RATES = {"tool_choice": 0.25, "facts_present": 0.5, "latency_within_budget": 1.0, "cost_within_budget": None}


def test_no_floor_means_no_failure_whatever_the_scores():
    assert unmet_floors({}, RATES) == []


def test_a_floor_for_every_scorer_reports_each_scorer_below_it():
    unmet = unmet_floors({None: 0.5}, RATES)
    assert [line.split(":")[0] for line in unmet] == ["tool_choice", "cost_within_budget"]  # n/a never meets a floor


def test_a_scorers_own_floor_overrides_the_general_one():
    assert unmet_floors({None: 0.1, "tool_choice": 0.3, "cost_within_budget": 0.0}, RATES) == [
        "tool_choice: pass rate 25.0% is below --min-pass-rate 30.0%",
        "cost_within_budget: pass rate n/a is below --min-pass-rate 0.0%",
    ]


def test_a_floor_for_an_unknown_scorer_is_reported_by_name():
    assert "no scorer named 'tool_use'" in unmet_floors({"tool_use": 0.5}, RATES)[0]
