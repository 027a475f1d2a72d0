"""`make eval`: run the agent's evaluation set through mlflow.genai.evaluate and print the scores.

    python -m evaluation [--agent-url URL --tracking-uri URI] [--cases FILE] [--limit N]
                         [--judge-model openai:/gpt-4o-mini] [--min-pass-rate [SCORER=]RATE ...]

Without --agent-url it uses a `make local` stack answering on :8000/:5000, else starts one
(--env, --model, --max-tokens) and stops it after. Exit codes: 0 the evaluation ran (scores are
results, not failures); 1 a --min-pass-rate was not met; 2 bad input or no agent/MLflow to use.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

MODEL_KINDS = ("real", "scripted", "proxy")


class UsageError(Exception):
    """A bad flag; the message names it."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from evaluation.eval_set import DEFAULT_CASES_FILE

    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__.split("\n\n")[0])
    where = parser.add_argument_group("the agent under test")
    where.add_argument(
        "--agent-url", help="a running agent's HTTP API root (local or deployed); default: the local stack"
    )
    where.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI the agent traces to (an ARN on AWS); default "
        "MLFLOW_TRACKING_URI, or the local stack's MLflow",
    )
    stack = parser.add_argument_group("the local stack started when nothing is running")
    stack.add_argument(
        "--env", default="dev", help="environment whose agent settings and endpoint to run (default dev)"
    )
    stack.add_argument(
        "--model",
        choices=MODEL_KINDS,
        default="real",
        help="real: SmolLM2-135M on CPU (weak at tool calling); proxy: an OpenAI-compatible server "
        "(--proxy-base-url); scripted: the echoing test double",
    )
    stack.add_argument(
        "--proxy-base-url", help="OpenAI-compatible API root for --model proxy, e.g. http://127.0.0.1:11434/v1"
    )
    stack.add_argument(
        "--max-tokens", type=int, default=64, help="the agent's max_tokens for the started stack (default 64)"
    )
    run = parser.add_argument_group("the evaluation")
    run.add_argument(
        "--cases", type=Path, default=DEFAULT_CASES_FILE, help="evaluation set (default evaluation/cases.yaml)"
    )
    run.add_argument("--limit", type=int, help="evaluate only the first N cases")
    run.add_argument(
        "--judge-model",
        help="add MLflow's LLM judges (Correctness, Guidelines) with this model, e.g. openai:/gpt-4o-mini",
    )
    run.add_argument("--concurrency", type=int, default=1, help="cases in flight at once (1-8, default 1)")
    run.add_argument(
        "--request-timeout", type=float, default=180.0, help="seconds to wait for one answer (default 180)"
    )
    run.add_argument(
        "--min-pass-rate",
        action="append",
        default=[],
        metavar="[SCORER=]RATE",
        help="exit 1 when a scorer's pass rate is below RATE (0-1); without SCORER= for every scorer",
    )
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> dict[str, float | None]:
    """Flag checks argparse cannot make; returns the pass-rate floors (scorer name, or None for all)."""
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit: must be at least 1, got {args.limit}")
    if not 1 <= args.concurrency <= 8:
        raise UsageError(f"--concurrency: must be between 1 and 8, got {args.concurrency}")
    if not 1 <= args.max_tokens <= 4096:
        raise UsageError(f"--max-tokens: must be between 1 and 4096, got {args.max_tokens}")
    if args.request_timeout <= 0:
        raise UsageError(f"--request-timeout: must be positive, got {args.request_timeout}")
    if args.model == "proxy" and not args.proxy_base_url and not args.agent_url:
        raise UsageError("--proxy-base-url: required with --model proxy (an OpenAI-compatible API root)")
    if args.judge_model:
        from evaluation.scorers.judges import check_judge_model

        try:
            check_judge_model(args.judge_model)
        except ValueError as error:
            raise UsageError(f"--judge-model: {error}") from None
    floors: dict[str | None, float] = {}
    for item in args.min_pass_rate:
        name, _, rate = item.rpartition("=")
        try:
            value = float(rate)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 1:
            raise UsageError(f"--min-pass-rate: {item!r} must be RATE or SCORER=RATE with RATE between 0 and 1")
        floors[name or None] = value
    if not args.agent_url:
        from kit_config.loader import ConfigError, load_environment

        try:
            load_environment(args.env)
        except ConfigError as error:
            raise UsageError(f"--env: {error}") from None
    return floors


def unmet_floors(floors: dict[str | None, float], metrics_by_scorer: dict[str, float | None]) -> list[str]:
    unknown = [name for name in floors if name is not None and name not in metrics_by_scorer]
    if unknown:
        return [f"--min-pass-rate: no scorer named {name!r} (scorers: {sorted(metrics_by_scorer)})" for name in unknown]
    unmet = []
    for name, rate in metrics_by_scorer.items():
        floor = floors.get(name, floors.get(None))
        if floor is not None and (rate is None or rate < floor):
            unmet.append(
                f"{name}: pass rate {'n/a' if rate is None else f'{rate:.1%}'} is below --min-pass-rate {floor:.1%}"
            )
    return unmet


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    # sagemaker-mlflow's header provider warns on every call to a non-ARN tracking URI.
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    from evaluation.eval_set import EvalSetError, load_eval_set
    from evaluation.target import StackOptions, TargetError, check_tracking, resolve_target

    try:
        floors = check_args(args)
        eval_set, digest = load_eval_set(args.cases)
    except (UsageError, EvalSetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from evaluation.report import render
    from evaluation.runner import run_evaluation
    from evaluation.scorers import build_scorers

    scorers = build_scorers(args.judge_model, eval_set.judge_guidelines)
    scorer_names = [s.name for s in scorers]
    cases = min(args.limit or len(eval_set.cases), len(eval_set.cases))
    print(
        f"evaluation set {args.cases} ({cases} of {len(eval_set.cases)} cases, digest {digest}); "
        f"scorers: {', '.join(scorer_names)}",
        flush=True,
    )
    options = StackOptions(
        env=args.env, model=args.model, proxy_base_url=args.proxy_base_url, max_tokens=args.max_tokens
    )
    try:
        with resolve_target(args.agent_url, args.tracking_uri, options) as target:
            print(f"agent {target.agent_url} ({target.origin}); MLflow {target.tracking_uri}", flush=True)
            check_tracking(target.tracking_uri)
            outcome = run_evaluation(
                eval_set,
                cases_digest=digest,
                cases_file=str(args.cases),
                target=target,
                scorers=scorers,
                limit=args.limit,
                judge_model=args.judge_model,
                concurrency=args.concurrency,
                request_timeout=args.request_timeout,
            )
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(render(outcome, scorer_names, target.tracking_uri))
    unmet = unmet_floors(floors, {name: outcome.pass_rate(name) for name in scorer_names})
    for line in unmet:
        print(f"below the floor: {line}", file=sys.stderr)
    return 1 if unmet else 0


if __name__ == "__main__":
    sys.exit(main())
