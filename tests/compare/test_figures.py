"""The comparison's verdict from hand-computed figures: pass rate, $ per successful task, the Pareto
front over (cost per success, pass rate), the best setting with its ties, and the last line."""

from __future__ import annotations

import re

import pytest

from compare.figures import (
    SettingFigures,
    best,
    dominates,
    last_line,
    load_figure,
    pareto_front,
    passed,
    task_requests,
)

LAST_LINE = re.compile(r"^compare settings=\d+ best=\S+ cost_per_success_usd=\S+ pass_rate=\S+$")


def setting(name: str, tasks: int, ok: int, requests: int, per_request: float | None) -> SettingFigures:
    return SettingFigures(name, tasks=tasks, tasks_passed=ok, eval_requests=requests, cost_per_request_usd=per_request)


def test_cost_per_success_prices_every_request_of_the_evaluation_and_divides_by_the_tasks_passed():
    # 6 requests x $0.001 = $0.006 for 4 tasks, 2 passed: $0.003 per success; pass rate 0.5
    figures = setting("a", tasks=4, ok=2, requests=6, per_request=0.001)
    assert figures.eval_cost_usd == pytest.approx(0.006)
    assert figures.cost_per_success_usd == pytest.approx(0.003)
    assert figures.pass_rate == 0.5
    assert figures.cost_per_1k_requests_usd == pytest.approx(1.0)


def test_a_setting_with_no_passed_task_or_no_successful_load_has_no_cost_per_success():
    assert setting("none-passed", 4, 0, 4, 0.001).cost_per_success_usd is None
    assert setting("none-passed", 4, 0, 4, 0.001).pass_rate == 0.0
    no_load = setting("no-load", 4, 3, 4, None)
    assert no_load.cost_per_success_usd is None and no_load.cost_per_1k_requests_usd is None
    assert "cost_per_success_usd" not in no_load.metrics() and no_load.metrics()["pass_rate"] == 0.75


def test_the_front_keeps_the_undominated_and_the_best_is_its_cheapest_per_success():
    a = setting("a", 4, 2, 6, 0.001)  # $0.003 per success, 50 %
    b = setting("b", 4, 4, 4, 0.002)  # $0.002 per success, 100 %: dominates a
    c = setting("c", 4, 1, 4, 0.00025)  # $0.001 per success, 25 %: cheapest
    zero = setting("zero", 4, 0, 1, 0.0000001)  # nothing passed: never on the front
    assert dominates(b, a) and not dominates(a, b) and not dominates(b, c) and not dominates(c, b)
    assert [s.name for s in pareto_front([a, b, c, zero])] == ["c", "b"]
    assert best([a, b, c, zero]).name == "c"
    assert best([a, b, zero]).name == "b"


def test_ties_equal_figures_are_both_on_the_front_and_the_name_decides():
    one, other = setting("beta", 2, 1, 2, 0.001), setting("alpha", 2, 1, 2, 0.001)
    assert {s.name for s in pareto_front([one, other])} == {"alpha", "beta"}
    assert best([one, other]).name == "alpha"


def test_ties_on_cost_go_to_the_higher_pass_rate():
    # both $0.001 per success: 2 requests x $0.0005 / 1 passed, and 4 x $0.0005 / 2 passed
    low = setting("aaa-low", 2, 1, 2, 0.0005)
    high = setting("zzz-high", 2, 2, 4, 0.0005)
    assert low.cost_per_success_usd == pytest.approx(high.cost_per_success_usd)
    assert [s.name for s in pareto_front([low, high])] == ["zzz-high"]
    assert best([low, high]).name == "zzz-high"


def test_no_setting_passed_a_task_there_is_no_best_and_the_last_line_says_so():
    settings = [setting("a", 3, 0, 3, 0.001), setting("b", 3, 0, 3, None)]
    assert pareto_front(settings) == [] and best(settings) is None
    line = last_line(settings, None)
    assert line == "compare settings=2 best=none cost_per_success_usd=nan pass_rate=nan"
    assert LAST_LINE.match(line)


def test_the_last_line_carries_the_best_setting_figures():
    chosen = setting("primary", 4, 3, 6, 0.0005)  # $0.003 / 3 = $0.001
    line = last_line([chosen, setting("challenger", 4, 0, 4, 0.001)], chosen)
    assert line == "compare settings=2 best=primary cost_per_success_usd=0.001 pass_rate=0.7500"
    assert LAST_LINE.match(line)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"tool_choice": True, "facts_present": True}, True),
        ({"tool_choice": True, "Correctness": "yes"}, True),
        ({"tool_choice": True, "facts_present": False}, False),
        ({"tool_choice": True, "Correctness": "no"}, False),
        ({"tool_choice": True, "facts_present": None}, False),  # a scorer that failed to score
        ({}, False),
    ],
)
def test_a_task_passes_only_when_every_scorer_passes(scores, expected):
    assert passed(scores) is expected


@pytest.mark.parametrize(
    ("outputs", "requests"),
    [({"model_calls": 3}, 3), ({"model_calls": 1}, 1), ({"model_calls": 0}, 1), ({"error": "HTTP 503"}, 1)],
)
def test_a_task_costs_its_model_calls_and_at_least_one_request(outputs, requests):
    assert task_requests(outputs) == requests


def test_load_figures_are_read_by_their_current_name_or_an_older_one():
    assert load_figure({"inter_token_latency_p50_s": 0.02, "inter_token_p50_s": 0.5}, "itl_p50_s") == 0.02
    assert load_figure({"inter_token_p50_s": 0.5}, "itl_p50_s") == 0.5
    assert load_figure({"output_tokens_per_s_aggregate": 80.0}, "output_tokens_per_s") == 80.0
    assert load_figure({}, "e2e_p95_s") is None


def test_the_child_run_metrics_hold_the_comparison_figures_each_scorer_and_the_load():
    figures = SettingFigures(
        "a",
        tasks=2,
        tasks_passed=1,
        eval_requests=3,
        cost_per_request_usd=0.002,
        scorer_pass_rates={"tool_choice": 0.5, "facts_present": None},
        load_metrics={"e2e_p95_s": 1.5, "ttft_p50_s": 0.1},
    )
    metrics = figures.metrics()
    assert metrics["cost_per_success_usd"] == pytest.approx(0.006)
    assert metrics["tool_choice/pass_rate"] == 0.5 and "facts_present/pass_rate" not in metrics
    assert metrics["e2e_p95_s"] == 1.5 and metrics["load/ttft_p50_s"] == 0.1
