"""`make compare`: which setting of an environment's endpoint gives the best cost-to-quality ratio.

    python -m compare [--env dev] [--mode local|aws] [--model real|scripted] [--limit N] [--profile smoke] ...

For each variant (or inference component) of the endpoint, pinned to it: the evaluation set
through the agent (pass rate, each scorer), then a bounded load profile on the endpoint (latency,
TTFT, ITL, output tokens/s, $ per request). Prints a table, logs one MLflow parent run with a
child per setting and a cost-versus-quality plot, and names the Pareto-front setting with the
lowest $ per successful task. Its last line:

    compare settings=N best=<name> cost_per_success_usd=X pass_rate=Y

Exit codes: 0 done; 1 no setting passed a task; 2 bad input, or no stack or agent to use;
3 the figures were printed and saved but the MLflow runs were not logged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_OUTPUT_DIR = Path(".local/compare")
LOCAL_CASES = 6  # the local default: 6 of the set's cases, spread over it (minutes on 2 cores)
EXIT_OK, EXIT_NO_SUCCESS, EXIT_BAD_INPUT, EXIT_NOT_LOGGED = 0, 1, 2, 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from evaluation.eval_set import DEFAULT_CASES_FILE

    parser = argparse.ArgumentParser(prog="python -m compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="dev", help="environment whose endpoint to compare (default dev)")
    parser.add_argument("--mode", choices=("local", "aws"), default="local", help="the local stack (default) or AWS")
    parser.add_argument("--settings", help="compare only these variants (comma-separated; default all)")
    local = parser.add_argument_group("local mode")
    local.add_argument(
        "--model",
        choices=("real", "scripted"),
        default="real",
        help="model server of every variant: real SmolLM2 or the scripted double (default real); the "
        "`challenger` variant added to a single-variant env differs in a setting (max_model_len), not the model",
    )
    local.add_argument(
        "--variant-model",
        action="append",
        default=[],
        metavar="VARIANT=KIND",
        help="another model server (real|scripted) for one variant, e.g. challenger=scripted",
    )
    local.add_argument(
        "--max-tokens", type=int, default=48, help="the local agent's max_tokens per model call (default 48)"
    )
    aws = parser.add_argument_group("AWS mode")
    aws.add_argument(
        "--agent-url",
        action="append",
        default=[],
        metavar="[SETTING=]URL",
        help="the agent pinned to a setting (one per setting; a bare URL when one setting is compared); "
        "credentials: AGENT_TOKEN, as make eval",
    )
    aws.add_argument("--region", help="AWS region (default: the env's)")
    parser.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (AWS: required, or MLFLOW_TRACKING_URI; local: default a running make local's, "
        "else the stack's own on .local/mlflow)",
    )
    parser.add_argument("--experiment", help="MLflow experiment of the parent run (default compare-<env>)")
    parser.add_argument(
        "--price-per-hour", type=float, help="$/hour of one instance (default: the catalogue's, per instance type)"
    )
    evaluation = parser.add_argument_group("evaluation (per setting)")
    evaluation.add_argument(
        "--cases", type=Path, default=DEFAULT_CASES_FILE, help="evaluation set (default evaluation/cases.yaml)"
    )
    evaluation.add_argument(
        "--limit",
        type=int,
        help=f"evaluate N cases spread over the set (default: {LOCAL_CASES} locally, all on AWS)",
    )
    evaluation.add_argument("--judge-model", help="add MLflow's LLM judges with this model (as make eval)")
    evaluation.add_argument(
        "--request-timeout", type=float, default=120.0, help="seconds one answer or request may take (default 120)"
    )
    load = parser.add_argument_group("load (per setting; loadtest's profiles and hard caps)")
    load.add_argument("--profile", default="smoke", help="load profile (default smoke: ≤ 30 s, ≤ 12 requests)")
    load.add_argument("--concurrency", type=int, help="concurrent clients (single-stage profiles)")
    load.add_argument("--duration", type=float, help="seconds of load (single-stage profiles)")
    load.add_argument("--requests", type=int, help="request cap per setting")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help="where the plot and data go (default .local/compare)",
    )
    return parser.parse_args(argv)


@dataclass
class Options:
    judge_model: str | None
    request_timeout: float


@dataclass
class Plan:
    """What every setting is measured with."""

    eval_set: object
    digest: str
    cases_file: str
    scorers: list
    options: Options
    profile: object
    prompts: object
    runtime_url: str | None = None


def make_plan(args) -> Plan:
    """Everything checked before anything starts; raises CompareError naming the flag."""
    from compare.measure import select_cases
    from compare.settings import CompareError
    from evaluation.eval_set import EvalSetError, load_eval_set
    from evaluation.scorers import build_scorers
    from loadtest.profiles import LoadtestError, load_prompt_set, resolve_profile

    limit = args.limit if args.limit is not None else (LOCAL_CASES if args.mode == "local" else None)
    if limit is not None and limit < 1:
        raise CompareError(f"--limit: must be at least 1, got {args.limit}")
    if not 0 < args.request_timeout <= 900:
        raise CompareError(f"--request-timeout: give 0 < seconds ≤ 900, got {args.request_timeout}")
    if not 1 <= args.max_tokens <= 4096:
        raise CompareError(f"--max-tokens: must be between 1 and 4096, got {args.max_tokens}")
    if args.price_per_hour is not None and not 0 < args.price_per_hour <= 1000:
        raise CompareError(
            f"--price-per-hour {args.price_per_hour}: give the $/hour of one instance (0 < price ≤ 1000)"
        )
    for item in args.variant_model:
        if item.partition("=")[2] not in ("real", "scripted"):
            raise CompareError(f"--variant-model {item!r}: give VARIANT=real or VARIANT=scripted")
    try:
        eval_set, digest = load_eval_set(args.cases)
        profile = resolve_profile(
            args.profile, concurrency=args.concurrency, duration=args.duration, requests=args.requests
        )
        prompts = load_prompt_set(profile.prompt_set)
    except (EvalSetError, LoadtestError) as error:
        raise CompareError(str(error)) from None
    if args.judge_model:
        from evaluation.scorers.judges import check_judge_model

        try:
            check_judge_model(args.judge_model)
        except ValueError as error:
            raise CompareError(f"--judge-model: {error}") from None
    return Plan(
        select_cases(eval_set, limit),
        digest,
        str(args.cases),
        build_scorers(args.judge_model, eval_set.judge_guidelines),
        Options(args.judge_model, args.request_timeout),
        profile,
        prompts,
    )


def agent_urls(items: list[str], settings) -> dict[str, str]:
    """{setting: agent URL} from --agent-url [SETTING=]URL; every compared setting needs one."""
    from compare.settings import CompareError

    names = [s.name for s in settings]
    urls: dict[str, str] = {}
    for item in items:
        name, separator, url = item.partition("=")
        if not separator or name.startswith(("http://", "https://")):
            name, url = (names[0] if len(names) == 1 else ""), item
            if not name:
                raise CompareError(f"--agent-url {item}: name its setting (SETTING=URL): settings are {names}")
        if name not in names:
            raise CompareError(f"--agent-url {item}: no setting {name!r} (settings: {names})")
        urls[name] = url
    missing = [name for name in names if name not in urls]
    if missing:
        raise CompareError(
            f"--agent-url: no agent for {missing}: give SETTING=URL for each setting compared (an agent pinned to it: "
            "agent.runtime.target_variant), or --settings to compare fewer"
        )
    return urls


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # a stack the CLI started is stopped, not orphaned
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    # sagemaker-mlflow's header provider warns on every call to a non-ARN tracking URI.
    logging.getLogger("mlflow.tracking.request_header.registry").setLevel(logging.ERROR)
    from rich.console import Console

    from compare.settings import CompareError
    from evaluation.target import TargetError, check_tracking

    console = Console(width=max(Console().width, 100))

    def echo(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    started = time.perf_counter()
    only = [name.strip() for name in args.settings.split(",") if name.strip()] if args.settings else None
    try:
        plan = make_plan(args)
        with contextlib.ExitStack() as exits:  # stops a stack the CLI started, whatever happens
            settings, agents, tracking_uri, runtime_url = place(args, only, exits, echo)
            plan.runtime_url = runtime_url
            echo(
                f"comparing {len(settings)} settings of {settings[0].endpoint_name}: {', '.join(s.name for s in settings)}; "
                f"{len(plan.eval_set.cases)} tasks and the {plan.profile.name} profile (≤ {plan.profile.max_requests} "
                f"requests, ≤ {plan.profile.total_seconds:g} s) each; MLflow {tracking_uri}"
            )
            check_tracking(tracking_uri)
            runs = measure_all(settings, agents, plan, echo)
            # While the stack (and its MLflow) is still up.
            return conclude(args, settings, runs, plan, tracking_uri, console, time.perf_counter() - started)
    except (CompareError, TargetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: nothing was logged", file=sys.stderr)
        return 130


def place(args, only, exits: contextlib.ExitStack, echo):
    """(settings, {setting: agent context factory}, tracking URI, runtime URL or None) for the mode."""
    from compare.settings import CompareError, discover
    from evaluation.target import Target, TargetError
    from kit_config.loader import ConfigError, load_environment

    if args.mode == "local":
        from compare.local import LocalEndpoint

        scratch = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="compare-")))
        agent_settings = {
            "AGENT_MAX_TOKENS": str(args.max_tokens),
            "AGENT_REQUEST_TIMEOUT_SECONDS": str(args.request_timeout),
            "AGENT_READ_TIMEOUT_SECONDS": str(args.request_timeout),
        }
        try:
            endpoint = LocalEndpoint(
                scratch,
                args.env,
                model=args.model,
                overrides=args.variant_model,
                tracking_uri=args.tracking_uri,
                agent_settings=agent_settings,
            )
        except ConfigError as error:
            raise CompareError(f"--env {args.env!r}: {error}") from None
        echo(f"starting a local endpoint with {', '.join(f'{n} ({k})' for n, k in endpoint.models.items())} ...")
        clock = time.perf_counter()
        try:
            exits.enter_context(endpoint)
        except (RuntimeError, TimeoutError) as error:
            raise CompareError(f"the local stack did not start: {error}") from None
        echo(f"local endpoint up in {time.perf_counter() - clock:.1f} s (it stops when the comparison ends)")
        environment = endpoint.environment
        settings = discover(
            environment,
            only=only,
            price_per_hour=args.price_per_hour,
            local_models=endpoint.models,
        )

        def local_agent(setting):
            @contextlib.contextmanager
            def start():
                with endpoint.agent(setting) as (url, headers):
                    yield Target(url, endpoint.tracking_uri, f"local agent pinned to {setting.pin}", headers)

            return start

        return settings, {s.name: local_agent(s) for s in settings}, endpoint.tracking_uri, endpoint.runtime_url
    try:
        environment = load_environment(args.env)
    except ConfigError as error:
        raise CompareError(f"--env {args.env!r}: {error}") from None
    if environment.inference is None:
        raise CompareError(f"--env {args.env!r}: config has no inference section: no endpoint to compare")
    tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        raise CompareError("--mode aws: give --tracking-uri (or MLFLOW_TRACKING_URI), e.g. the SageMaker MLflow ARN")
    import boto3

    if boto3.Session().get_credentials() is None:
        raise CompareError("--mode aws: no AWS credentials found (set AWS_PROFILE or run `aws sso login`)")
    region = args.region or environment.region
    environment = environment.model_copy(update={"region": region})
    settings = discover(environment, only=only, price_per_hour=args.price_per_hour)
    urls = agent_urls(args.agent_url, settings)
    from evaluation.agent_client import AgentUnreachable, bearer, health

    for name, url in urls.items():
        try:
            health(url)
        except AgentUnreachable as error:
            raise TargetError(f"--agent-url {name}={url}: {error}") from None
    headers = bearer(os.environ.get("AGENT_TOKEN"))
    agents = {
        name: (lambda url=url: contextlib.nullcontext(Target(url, tracking_uri, "--agent-url", headers)))
        for name, url in urls.items()
    }
    return settings, agents, tracking_uri, None


def measure_all(settings, agents, plan: Plan, echo) -> list:
    from compare.measure import run_setting

    runs = []
    for number, setting in enumerate(settings, 1):
        echo(f"[{number}/{len(settings)}] {setting.name}: pinned by {setting.pinned_by} {setting.pin}")
        runs.append(run_setting(setting, agents[setting.name], plan, echo))
    return runs


def conclude(args, settings, runs, plan: Plan, tracking_uri: str, console, elapsed: float) -> int:
    from compare.figures import last_line, pareto_front
    from compare.report import comparison_table, cost_quality_plot
    from compare.tracking import TrackingUnavailable, log_comparison

    figures = [run.figures for run in runs]
    front = pareto_front(figures)
    front_names = {member.name for member in front}
    best = front[0] if front else None
    best_run = next((run for run in runs if best is not None and run.setting.name == best.name), None)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_name = f"compare-{args.env}-{stamp}"
    console.print(
        comparison_table(settings, figures, front_names, best.name if best else None, f"{run_name} ({args.mode})")
    )
    console.print(
        "$ per successful task = the evaluation's endpoint requests (the agent's model calls) × the load's $ per "
        "request ÷ tasks passed; a task passes when every scorer passes. ★: the Pareto front's cheapest per success.",
        style="dim",
        highlight=False,
    )
    if args.mode == "local":
        console.print(
            "local mode: $ is what this wall time would cost on the env's declared instances, not what the laptop costs",
            style="dim",
        )
    folder = args.output_dir / run_name
    folder.mkdir(parents=True, exist_ok=True)
    plot = cost_quality_plot(figures, front, best.name if best else None, folder / "cost_vs_quality.png", run_name)
    data = folder / "comparison.json"
    data.write_text(
        json.dumps(
            {
                "settings": {
                    run.setting.name: {"params": run.setting.params(), "metrics": run.figures.metrics()} for run in runs
                },
                "pareto_front": [member.name for member in front],
                "best": best.name if best else None,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    console.print(f"plot and data: {folder} (wall time {elapsed:.0f} s)", highlight=False)
    params = {
        "env": args.env,
        "mode": args.mode,
        "endpoint_name": settings[0].endpoint_name,
        "tasks": len(plan.eval_set.cases),
        "cases_file": plan.cases_file,
        "cases_digest": plan.digest,
        "scorers": ",".join(s.name for s in plan.scorers),
        "judge_model": plan.options.judge_model,
        "profile": plan.profile.name,
        "pareto_front": ",".join(member.name for member in front),
        "best": best.name if best else "none",
    }
    code = EXIT_OK if best is not None else EXIT_NO_SUCCESS
    try:
        parent, _ = log_comparison(
            tracking_uri,
            args.experiment or f"compare-{args.env}",
            run_name,
            params,
            runs,
            front_names,
            best_run,
            [plot, data],
            folder,
        )
        console.print(
            f"MLflow: parent run {parent} in experiment {args.experiment or f'compare-{args.env}'} at {tracking_uri}",
            highlight=False,
        )
    except TrackingUnavailable as error:
        print(f"MLflow: the comparison was NOT logged: {error}", file=sys.stderr)
        code = code or EXIT_NOT_LOGGED
    print(last_line(figures, best), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
