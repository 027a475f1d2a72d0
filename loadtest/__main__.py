"""`make loadtest`: bounded load against the SageMaker endpoint or the agent API, measured, costed, logged.

    python -m loadtest [--profile smoke|steady|burst|ramp] [--target endpoint|agent] [--mode local|aws] ...

Local mode (default) uses a `make local` stack already answering on the default ports, or starts
its own (and stops it afterwards). AWS mode uses the caller's credentials and config/<env>.yaml.
Exit codes: 0 done; 1 the profile's error-rate limit was exceeded or nothing succeeded;
2 bad input; 3 the figures were printed and saved but the MLflow run was not logged.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loadtest.profiles import MAX_CONCURRENCY, PROFILES, LoadtestError, load_prompt_set, resolve_profile

DEFAULT_OUTPUT_DIR = Path(".local/loadtest")
MAX_TIMEOUT_S = 900
MAX_SETTLE_REQUESTS = 8
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOT_LOGGED = 0, 1, 2, 3


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description=__doc__.split("\n\n")[0],
        epilog="Profiles: " + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()),
    )
    parser.add_argument("--profile", default="smoke", help=f"named load profile ({', '.join(PROFILES)}; default smoke)")
    parser.add_argument(
        "--target",
        choices=("endpoint", "agent"),
        default="endpoint",
        help="the SageMaker endpoint directly, or the agent API (default endpoint)",
    )
    parser.add_argument("--mode", choices=("local", "aws"), default="local", help="the local stack (default) or AWS")
    parser.add_argument(
        "--env", default="dev", help="environment whose config/<env>.yaml names the endpoint and prices it"
    )
    group = parser.add_argument_group("load (overrides the profile; hard caps apply)")
    group.add_argument(
        "--concurrency", type=int, help=f"concurrent clients (1..{MAX_CONCURRENCY}; single-stage profiles)"
    )
    group.add_argument("--duration", type=float, help="seconds of load (single-stage profiles)")
    group.add_argument("--stages", help="the whole schedule as CONCURRENCY:SECONDS,... (e.g. 1:30,4:30)")
    group.add_argument("--requests", type=int, help="request cap for the whole run")
    group.add_argument(
        "--max-tokens",
        type=int,
        help="max_tokens per model call (endpoint body; the agent's AGENT_MAX_TOKENS when the CLI starts the stack)",
    )
    group.add_argument(
        "--prompts", help="prompt set: a name in loadtest/prompts/ or a YAML path (default: the profile's)"
    )
    group.add_argument(
        "--warmup",
        type=int,
        default=1,
        choices=range(0, 6),
        metavar="0..5",
        help="requests sent before the load and left out of every figure (default 1: a model loads lazily)",
    )
    group.add_argument("--timeout", type=float, default=120.0, help=f"seconds one request may take (≤ {MAX_TIMEOUT_S})")
    group = parser.add_argument_group("where the load goes")
    group.add_argument(
        "--stack",
        choices=("auto", "own", "running"),
        default="auto",
        help="local: reuse a `make local` stack on the default ports (running), start one (own), or whichever fits (auto)",
    )
    group.add_argument(
        "--model",
        choices=("real", "scripted"),
        default="real",
        help="local stack the CLI starts: real SmolLM2 or the scripted test double (default real)",
    )
    group.add_argument(
        "--agent-url", help="agent API root (required with --mode aws --target agent; local: a stack on other ports)"
    )
    group.add_argument(
        "--runtime-url",
        help="local: the SageMaker Runtime emulator of a stack on other ports (with --tracking-uri for its MLflow)",
    )
    group.add_argument("--endpoint-name", help="endpoint name (default: inference.endpoint_name of the env)")
    group.add_argument("--region", help="AWS region (default: the env's)")
    group.add_argument("--variant", help="TargetVariant for every endpoint request")
    group.add_argument(
        "--inference-component", help="InferenceComponentName for every endpoint request (an endpoint of components)"
    )
    group.add_argument(
        "--custom-attributes",
        help="CustomAttributes for every endpoint request (e.g. scenario=throttle for the scripted model)",
    )
    group = parser.add_argument_group("cost")
    group.add_argument(
        "--price-per-hour",
        type=float,
        help="$/hour of one instance (default: the instance catalogue's, by type and region)",
    )
    group.add_argument(
        "--instance-count", type=int, help="instances per variant (default: the env's initial_instance_count)"
    )
    group = parser.add_argument_group("results")
    group.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: the local stack's; AWS: MLFLOW_TRACKING_URI, e.g. the SageMaker MLflow ARN)",
    )
    group.add_argument("--experiment", help="MLflow experiment (default loadtest-<env>)")
    group.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run (figures and files only)")
    group.add_argument(
        "--mlflow-dir",
        type=Path,
        help="MLflow data folder of a stack the CLI starts (default .local/mlflow, as `make local`)",
    )
    group.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        help="where each run's CSV/JSON/PNG go (default .local/loadtest)",
    )
    return parser.parse_args(argv)


@dataclass
class Setup:
    """Everything resolved before any load is sent."""

    profile: object
    prompts: object
    environment: object
    fleet: object
    endpoint_name: str
    region: str
    tracking_uri: str | None


def resolve(args) -> Setup:
    from kit_config.loader import ConfigError, load_environment
    from loadtest.costs import fleet_for

    profile = resolve_profile(
        args.profile,
        concurrency=args.concurrency,
        duration=args.duration,
        requests=args.requests,
        stages=args.stages,
        max_tokens=args.max_tokens,
    )
    prompts = load_prompt_set(args.prompts or profile.prompt_set)
    if not 0 < args.timeout <= MAX_TIMEOUT_S:
        raise LoadtestError(f"--timeout {args.timeout}: give 0 < seconds ≤ {MAX_TIMEOUT_S}")
    if args.instance_count is not None and not 1 <= args.instance_count <= 100:
        raise LoadtestError(f"--instance-count {args.instance_count}: give 1..100")
    try:
        environment = load_environment(args.env)
    except ConfigError as error:
        raise LoadtestError(f"--env {args.env!r}: {error}") from None
    if environment.inference is None:
        raise LoadtestError(
            f"--env {args.env!r}: config/{args.env}.yaml has no inference section: no endpoint to load or price"
        )
    region = args.region or environment.region
    variants = [
        (v.instance_type, args.instance_count or v.initial_instance_count) for v in environment.inference.variants
    ]
    if args.variant:
        known = [v.name for v in environment.inference.variants]
        if args.variant not in known:
            raise LoadtestError(f"--variant {args.variant!r}: the endpoint's variants are {known}")
    if environment.inference.hosts_inference_components and not args.inference_component:
        # An endpoint of inference components refuses a request that names none (docs/deploy-readiness.md C7):
        # pin the variant's component, or the first one's, as the agent does.
        inference = environment.inference
        chosen = next((v for v in inference.variants if v.name == args.variant), inference.variants[0])
        args.inference_component = chosen.component_name(inference.endpoint_name)
    fleet = fleet_for(variants, region, args.price_per_hour)
    tracking_uri = (
        None
        if args.no_mlflow
        else (args.tracking_uri or (os.environ.get("MLFLOW_TRACKING_URI") if args.mode == "aws" else None))
    )
    if args.mode == "aws":
        if args.target == "agent" and not args.agent_url:
            raise LoadtestError(
                "--mode aws --target agent: give --agent-url (the agent's Function URL or load balancer)"
            )
        if not args.no_mlflow and not tracking_uri:
            raise LoadtestError(
                "--mode aws: give --tracking-uri (or MLFLOW_TRACKING_URI), e.g. the SageMaker MLflow ARN, or --no-mlflow"
            )
        import boto3

        if boto3.Session().get_credentials() is None:
            raise LoadtestError("--mode aws: no AWS credentials found (set AWS_PROFILE or run `aws sso login`)")
    return Setup(
        profile,
        prompts,
        environment,
        fleet,
        args.endpoint_name or environment.inference.endpoint_name,
        region,
        tracking_uri,
    )


@dataclass
class Place:
    """Where requests and runs go, once the stack is chosen."""

    agent_url: str | None
    runtime_url: str | None  # local emulator; None on AWS
    tracking_uri: str | None
    local_model: str  # real | scripted (a stack this CLI started) | running stack | given stack | aws
    identity: object = None  # the local stack's identity provider (local_runtime.identity.LocalIdentity), if known

    @property
    def started_here(self) -> bool:
        """The CLI started this stack itself: it sets the agent's max_tokens and stops the stack after."""
        return self.local_model in ("real", "scripted")


def local_place(args, setup: Setup, exits: ExitStack, console) -> Place:
    from local_runtime import mlflow_server
    from local_runtime.launcher import MAKE_LOCAL, LocalStack

    def running_stack_answers() -> bool:
        return MAKE_LOCAL.agent_answers() and MAKE_LOCAL.runtime_answers() and MAKE_LOCAL.mlflow_answers()

    if args.agent_url or args.runtime_url:  # a stack the caller started on other ports
        needed = "--agent-url" if args.target == "agent" else "--runtime-url"
        if not (args.agent_url if args.target == "agent" else args.runtime_url):
            raise LoadtestError(f"--target {args.target} on a given stack: give {needed}")
        return Place(args.agent_url, args.runtime_url, None if args.no_mlflow else args.tracking_uri, "given stack")
    use_running = args.stack == "running" or (args.stack == "auto" and running_stack_answers())
    if use_running:
        if not running_stack_answers():
            raise LoadtestError(
                "--stack running: no `make local` stack answers on :8000/:8081/:5000 (start it, or use --stack own)"
            )
        console.print("using the running local stack (agent :8000, emulator :8081, MLflow :5000)")
        return Place(
            MAKE_LOCAL.agent_url,
            MAKE_LOCAL.runtime_url,
            None if args.no_mlflow else (args.tracking_uri or MAKE_LOCAL.mlflow_url),
            "running stack",
            MAKE_LOCAL.identity() if args.target == "agent" else None,
        )
    scratch = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="loadtest-")))
    settings = {
        "AGENT_MAX_TOKENS": str(setup.profile.max_tokens),
        "AGENT_REQUEST_TIMEOUT_SECONDS": str(args.timeout),
        "AGENT_READ_TIMEOUT_SECONDS": str(args.timeout),
        # No botocore retries inside the agent either: throttles reach the client as 429.
        "AGENT_MAX_ATTEMPTS": "1",
    }
    stack = LocalStack(
        scratch,
        env=args.env,
        model=args.model,
        agent=args.target == "agent",
        mlflow=not args.no_mlflow,
        mlflow_dir=args.mlflow_dir or mlflow_server.DEFAULT_DIR,
        agent_settings=settings,
    )
    console.print(f"starting a local stack ({args.model} model{', agent' if stack.agent else ''}) ...")
    started = time.monotonic()
    try:
        exits.enter_context(stack)
    except (RuntimeError, TimeoutError) as error:
        raise LoadtestError(f"the local stack did not start: {error}") from None
    console.print(f"local stack up in {time.monotonic() - started:.1f} s (it stops when the run ends)")
    return Place(
        stack.agent_url if stack.agent else None,
        stack.runtime_url,
        None if args.no_mlflow else (args.tracking_uri or stack.mlflow_url),
        args.model,
        stack.identity() if stack.agent else None,
    )


def make_target_factory(args, setup: Setup, place: Place):
    from loadtest.targets import AgentTarget, EndpointTarget, bearer_signer, sigv4_signer

    if args.target == "agent":
        # Credentials: AGENT_TOKEN (a bearer JWT your IdP issued) if set; else SigV4 on AWS (an IAM-authenticated
        # Function URL: every worker is the same principal, bounded by its AGENT_MAX_TURNS_PER_CALLER); else
        # the local stack's identity provider, one caller per worker (virtual users, each with its own turn limit).
        token = os.environ.get("AGENT_TOKEN")

        def signer(worker):
            if token:
                return bearer_signer(token)
            if args.mode == "aws":
                return sigv4_signer(setup.region)
            return bearer_signer(place.identity.token(f"loadtest-user-{worker}")) if place.identity else None

        return lambda worker: AgentTarget(
            place.agent_url, timeout_s=args.timeout, signer=signer(worker), loopback=args.mode == "local"
        )
    return lambda worker: EndpointTarget(
        setup.endpoint_name,
        setup.region,
        setup.profile.max_tokens,
        # A component names its variant: TargetVariant is sent only to an endpoint without components.
        variant=None if args.inference_component else args.variant,
        inference_component=args.inference_component,
        custom_attributes=args.custom_attributes,
        endpoint_url=place.runtime_url,
        local_credentials=args.mode == "local",
        timeout_s=args.timeout,
        concurrency=setup.profile.peak_concurrency,
    )


def run_params(args, setup: Setup, place: Place) -> dict:
    inference = setup.environment.inference
    variants = inference.variants
    chosen = [v for v in variants if not args.variant or v.name == args.variant]
    scaling = [v.autoscaling for v in chosen if v.autoscaling]
    profile = setup.profile
    return {
        "profile": profile.name,
        "target": args.target,
        "mode": args.mode,
        "env": setup.environment.name,
        "endpoint_name": setup.endpoint_name,
        "region": setup.region,
        "variant": args.variant or ",".join(v.name for v in variants),
        "inference_component": args.inference_component,
        "instance_type": ",".join(v.instance_type for v in chosen),
        "instance_count": setup.fleet.instance_count,
        "scaling_metric": ",".join(s.metric for s in scaling) or None,
        "scaling_target": ",".join(f"{s.target_value:g}" for s in scaling) or None,
        "scaling_min_max": ",".join(f"{s.min_instances}-{s.max_instances}" for s in scaling) or None,
        "model": ",".join(v.model.name for v in chosen if getattr(v, "model", None)) or None,
        "local_model": place.local_model,
        "max_tokens": profile.max_tokens
        if args.target != "agent" or place.started_here
        else "the agent's AGENT_MAX_TOKENS",
        "concurrency": profile.peak_concurrency,
        "stages": ",".join(f"{s.concurrency}:{s.seconds:g}" for s in profile.stages),
        "max_requests": profile.max_requests,
        "duration_s": profile.total_seconds,
        "warmup_requests": args.warmup,
        "prompt_set": setup.prompts.name,
        "custom_attributes": args.custom_attributes,
        "hourly_usd": round(setup.fleet.hourly_usd, 4),
        "price_source": setup.fleet.source,
        "agent_url": place.agent_url if args.target == "agent" else None,
    }


def write_files(folder: Path, results, summary, costs, params) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [result.row() for result in results]
    csv_path = folder / "requests.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["status"])
        writer.writeheader()
        writer.writerows(rows)
    json_path = folder / "requests.json"
    json_path.write_text(
        json.dumps([{**row, "chunk_times_s": r.chunk_times_s} for row, r in zip(rows, results, strict=True)], indent=1),
        encoding="utf-8",
    )
    summary_path = folder / "summary.json"
    summary_path.write_text(
        json.dumps({"params": params, "metrics": {**summary.metrics(), **costs.metrics()}}, indent=2), encoding="utf-8"
    )
    return [csv_path, json_path, summary_path]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM as Ctrl-C: the run ends cleanly and a stack the CLI started is stopped, not orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    from rich.console import Console

    console = Console()
    error_console = Console(stderr=True)
    try:
        setup = resolve(args)
    except LoadtestError as error:
        error_console.print(f"[red]error:[/red] {error}", highlight=False)
        return EXIT_BAD_INPUT
    with ExitStack() as exits:  # stops a stack the CLI started, whatever happens
        try:
            if args.mode == "local":
                place = local_place(args, setup, exits, console)
            else:
                place = Place(args.agent_url, None, setup.tracking_uri, "aws")
        except LoadtestError as error:
            error_console.print(f"[red]error:[/red] {error}", highlight=False)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:  # during the stack's start: nothing was measured
            error_console.print("interrupted before any load was sent")
            return 130
        return measure(args, setup, place, console, error_console)


def warm_up(args, setup: Setup, place: Place, console) -> None:
    """Requests outside the measurement: the local model loads on its first request, and a stack
    the CLI just started is still busy settling (MLflow's workers) on a small machine. Sends
    --warmup requests; for a stack it started, keeps going (at most MAX_SETTLE_REQUESTS) until
    one answers within 25 % of the one before, i.e. latency has stopped falling."""
    if not args.warmup:
        return
    target = make_target_factory(args, setup, place)(0)
    target.warm()
    prompt = setup.prompts.conversations[0].turns[0]
    previous = None
    for number in range(MAX_SETTLE_REQUESTS if place.started_here else args.warmup):
        reply = target.send([], prompt, f"lt-warmup-{int(time.time())}-{number}")
        took = reply.result.e2e_s or 0.0
        outcome = reply.result.status + (f" ({reply.result.error})" if reply.result.error else "")
        console.print(
            f"warm-up request {number + 1}: {took:.1f} s, {outcome} (not counted)", style="dim", highlight=False
        )
        settled = previous is not None and took <= previous * 1.25
        if number + 1 >= args.warmup and (not place.started_here or settled or reply.result.status != "ok"):
            return
        previous = took


def measure(args, setup: Setup, place: Place, console, error_console) -> int:
    from loadtest.costs import costs as compute_costs
    from loadtest.plot import latency_plot
    from loadtest.report import LiveProgress, results_table, totals_table
    from loadtest.runner import Runner
    from loadtest.stats import summarise
    from loadtest.tracking import TrackingUnavailable, log_run

    profile = setup.profile
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_name = f"{profile.name}-{args.target}-{stamp}"
    params = run_params(args, setup, place)
    console.print(
        f"[bold]{run_name}[/bold]: {args.target} {setup.endpoint_name if args.target == 'endpoint' else place.agent_url}, "
        f"stages {params['stages']}, ≤ {profile.max_requests} requests, max_tokens {params['max_tokens']}",
        highlight=False,
    )
    warm_up(args, setup, place, console)
    with LiveProgress(console, profile.max_requests, profile.total_seconds) as progress:
        runner = Runner(
            profile,
            setup.prompts,
            make_target_factory(args, setup, place),
            run_id=stamp,
            on_result=progress.result,
            on_stage=progress.stage_started,
        )
        results = runner.run()
    if runner.interrupted:
        console.print("interrupted: reporting what was measured before Ctrl-C")
    summary = summarise(results)
    cost = compute_costs(
        setup.fleet, summary.wall_s, summary.succeeded, summary.output_tokens, setup.prompts.mean_turns_per_session
    )
    console.print(results_table(summary, cost, setup.fleet, f"{run_name} ({place.local_model})"))
    console.print(totals_table(summary, cost, setup.fleet))
    console.print(
        f"cost = {setup.fleet.instance_count} instance(s) × ${setup.fleet.hourly_usd / max(setup.fleet.instance_count, 1):.3f}/h "
        f"× {summary.wall_s:.1f} s ÷ {summary.succeeded} successful requests; assumes the endpoint serves only this test "
        f"(prices: {setup.fleet.source})",
        highlight=False,
    )
    if args.mode == "local":
        console.print(
            "local mode: the cost is what this wall time would cost on the env's endpoint instances, "
            "not what the local model costs",
            style="dim",
        )
    folder = args.output_dir / run_name
    files = write_files(folder, results, summary, cost, params)
    if results:
        files.append(latency_plot(results, folder / "latency.png", f"{run_name}: latency over time"))
    console.print(f"raw data and plot: {folder}")
    exit_code = EXIT_OK
    if not summary.succeeded:
        error_console.print("[red]failed:[/red] no request succeeded")
        exit_code = EXIT_FAILED
    elif profile.max_error_rate is not None and summary.error_rate > profile.max_error_rate:
        error_console.print(
            f"[red]failed:[/red] error rate {summary.error_rate:.1%} is above the {profile.name} profile's "
            f"limit of {profile.max_error_rate:.1%}"
        )
        exit_code = EXIT_FAILED
    if place.tracking_uri is None:
        if not args.no_mlflow:
            error_console.print("MLflow: no tracking URI: the run was NOT logged")
            return exit_code or EXIT_NOT_LOGGED
        console.print("MLflow: not logged (--no-mlflow)")
        return exit_code
    experiment = args.experiment or f"loadtest-{setup.environment.name}"
    try:
        run_id = log_run(
            place.tracking_uri,
            experiment,
            run_name,
            params,
            {**summary.metrics(), **cost.metrics()},
            files,
            tags={"loadtest.profile": profile.name, "loadtest.target": args.target},
        )
    except TrackingUnavailable as error:
        error_console.print(
            f"[red]MLflow:[/red] the run was NOT logged: {error}. The figures above and the files in {folder} are all there is.",
            highlight=False,
        )
        return exit_code or EXIT_NOT_LOGGED
    console.print(f"MLflow: run {run_id} in experiment {experiment!r} at {place.tracking_uri}", highlight=False)
    if place.started_here and not args.tracking_uri:
        serve = f'make local LOCAL_ARGS="--mlflow-dir {args.mlflow_dir}"' if args.mlflow_dir else "make local"
        from local_runtime.launcher import MAKE_LOCAL

        console.print(
            f"the CLI's own stack stops now; its runs stay: `{serve}` shows them at {MAKE_LOCAL.mlflow_url} "
            f"(experiment {experiment})",
            style="dim",
            highlight=False,
        )
    print(
        f"loadtest run_id={run_id} experiment={experiment} requests={summary.requests} ok={summary.succeeded} "
        f"throttled={summary.throttled} errors={summary.errors}",
        flush=True,
    )
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
