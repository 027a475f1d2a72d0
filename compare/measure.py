"""One setting's run: the evaluation set through its pinned agent (evaluation.runner, i.e.
mlflow.genai.evaluate, its own run linked to the agent version), then a bounded load profile on
the endpoint pinned to it (loadtest.runner), summarised and costed by loadtest's own code.

The evaluation goes first: it also warms the setting's model, so the load's figures are of a warm
server (one more warm-up request, left out of the figures, makes the load's client).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from compare.figures import SettingFigures, passed, task_requests
from compare.settings import Setting


@dataclass
class SettingRun:
    """Everything one setting produced: its figures and what to log with them."""

    setting: Setting
    figures: SettingFigures
    eval_run_id: str
    eval_experiment_id: str
    agent_version: str
    load_results: list  # loadtest RequestResult, for the per-request artifact
    load_params: dict


def select_cases(eval_set, limit: int | None):
    """The evaluation set, or `limit` of its cases spread evenly over it, the first and the last
    included, so a short run still covers each kind of case the set has (they are grouped by kind)."""
    cases = list(eval_set.cases)
    if not limit or limit >= len(cases):
        return eval_set
    if limit == 1:
        return eval_set.model_copy(update={"cases": cases[:1]})
    chosen = [cases[(index * (len(cases) - 1)) // (limit - 1)] for index in range(limit)]
    return eval_set.model_copy(update={"cases": chosen})


def evaluate(setting: Setting, target, eval_set, digest: str, cases_file: str, scorers, options, echo):
    """The evaluation's Outcome for one setting (its own MLflow run in the agent version's experiment)."""
    from evaluation.runner import run_evaluation

    return run_evaluation(
        eval_set,
        cases_digest=digest,
        cases_file=cases_file,
        target=target,
        scorers=scorers,
        judge_model=options.judge_model,
        concurrency=1,
        request_timeout=options.request_timeout,
        echo=echo,
    )


def load(setting: Setting, profile, prompts, *, runtime_url: str | None, timeout: float):
    """(results, Summary, Costs) of the load profile on the endpoint, every request pinned to the setting."""
    from loadtest.costs import Fleet
    from loadtest.costs import costs as compute_costs
    from loadtest.runner import Runner
    from loadtest.stats import summarise
    from loadtest.targets import EndpointTarget

    def target(worker: int) -> EndpointTarget:
        return EndpointTarget(
            setting.endpoint_name,
            setting.region,
            profile.max_tokens,
            endpoint_url=runtime_url,
            local_credentials=runtime_url is not None,
            timeout_s=timeout,
            concurrency=profile.peak_concurrency,
            **setting.endpoint_pin(),
        )

    warm = target(0)
    warm.send([], prompts.conversations[0].turns[0], f"compare-warmup-{int(time.time())}")
    runner = Runner(profile, prompts, target, run_id=f"compare-{setting.name}-{int(time.time())}")
    results = runner.run()
    summary = summarise(results)
    fleet = Fleet(((setting.instance_type, setting.instance_count, setting.hourly_usd),), setting.price_source)
    cost = compute_costs(
        fleet, summary.wall_s, summary.succeeded, summary.output_tokens, prompts.mean_turns_per_session
    )
    return results, summary, cost


def figures_of(setting: Setting, outcome, scorer_names: list[str], summary, cost) -> SettingFigures:
    return SettingFigures(
        name=setting.name,
        tasks=len(outcome.rows),
        tasks_passed=sum(1 for row in outcome.rows if passed(row["scores"])),
        eval_requests=sum(task_requests(row["outputs"]) for row in outcome.rows),
        cost_per_request_usd=cost.per_request_usd,
        scorer_pass_rates={name: outcome.pass_rate(name) for name in scorer_names},
        load_metrics={**summary.metrics(), **cost.metrics()},
    )


def run_setting(setting: Setting, agent, plan, echo) -> SettingRun:
    """Evaluate one setting through `agent()` (a context manager yielding the evaluation's Target: the
    agent pinned to the setting, up only while it is evaluated), then put the load on it; `plan`
    holds the evaluation set, scorers, profile and prompts."""
    started = time.perf_counter()
    with agent() as target:
        outcome = evaluate(
            setting, target, plan.eval_set, plan.digest, plan.cases_file, plan.scorers, plan.options, echo
        )
    echo(f"  evaluation: {len(outcome.rows)} tasks in {outcome.wall_seconds:.1f} s (run {outcome.run_id})")
    results, summary, cost = load(
        setting, plan.profile, plan.prompts, runtime_url=plan.runtime_url, timeout=plan.options.request_timeout
    )
    echo(
        f"  load: {summary.requests} requests ({summary.succeeded} ok) in {summary.wall_s:.1f} s; "
        f"setting done in {time.perf_counter() - started:.1f} s"
    )
    figures = figures_of(setting, outcome, [s.name for s in plan.scorers], summary, cost)
    load_params = {
        "profile": plan.profile.name,
        "max_tokens": plan.profile.max_tokens,
        "stages": ",".join(f"{s.concurrency}:{s.seconds:g}" for s in plan.profile.stages),
        "max_requests": plan.profile.max_requests,
        "prompt_set": plan.prompts.name,
    }
    return SettingRun(
        setting, figures, outcome.run_id, outcome.experiment_id, outcome.agent_version, results, load_params
    )
