"""`make local`: the emulator, the model server(s) for the env's endpoint, MLflow, a local S3 and the agent, in the foreground.

    python -m local_runtime [--env dev] [--model real|scripted|proxy] [--port 8081] [--model-port 8080] ...

Each variant of the env's endpoint gets its own model server (ports from --model-port upward);
`--variant-model NAME=KIND` gives one variant another model (A/B locally). The agent keeps its
sessions in a local S3 server (local_runtime.s3_server: the S3 session manager, locks and caller
slots run as on AWS; in memory, gone when the stack stops) or, with `--sessions files`, in
--session-dir (kept across restarts). Ctrl-C or SIGTERM stops every child (SIGTERM, then SIGKILL
after 10 s) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path

from local_runtime import mlflow_server, processes, s3_server
from local_runtime.emulator import DEFAULT_INVOCATION_TIMEOUT, DEFAULT_PORT
from local_runtime.endpoints import dump_endpoints, endpoints_from_environment
from local_runtime.http_base import PortInUseError
from local_runtime.identity import DEFAULT_DIR as DEFAULT_IDENTITY_DIR
from local_runtime.identity import FOREIGN_SETTINGS, LocalIdentity
from local_runtime.launcher import DEFAULT_AGENT_PORT
from local_runtime.scenarios import SCENARIOS

MODEL_KINDS = ("real", "scripted", "proxy")
# The emulated scale-out from zero (local_runtime.components): short, so local mode shows the whole cycle
# (the agent's 503, then answers); on AWS it takes minutes (docs/runbook.md, "Warming a scaled-to-zero endpoint").
DEFAULT_SCALE_OUT_SECONDS = 30.0
SESSION_STORES = ("s3", "files")


# The real local model's largest context (SmolLM2-135M on a CPU): a variant's max_model_len above it is
# served at this, never more, so the local server refuses at least every prompt LMI would.
LOCAL_MAX_CONTEXT = 4096


def model_command(kind: str, port: int, args, max_model_len: int = LOCAL_MAX_CONTEXT) -> list[str]:
    common = ["--host", args.host, "--port", str(port)]
    if kind == "real":
        # The variant's OPTION_MAX_MODEL_LEN: a prompt past it is refused as vLLM refuses it (llama.py).
        context = str(min(max_model_len, LOCAL_MAX_CONTEXT))
        return processes.python_module("local_runtime.model_servers.llama", *common, "--n-ctx", context)
    if kind == "scripted":
        return processes.python_module("local_runtime.model_servers.scripted", *common, "--scenario", args.scenario)
    if not args.proxy_base_url:
        raise SystemExit(
            "error: --model proxy needs --proxy-base-url (an OpenAI-compatible API root, e.g. http://127.0.0.1:11434/v1)"
        )
    extra = ["--model", args.proxy_model] if args.proxy_model else []
    return processes.python_module(
        "local_runtime.model_servers.proxy", *common, "--base-url", args.proxy_base_url, *extra
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="dev", help="environment whose inference endpoint to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="SageMaker Runtime emulator port")
    parser.add_argument("--model", choices=MODEL_KINDS, default="real", help="model server for every variant")
    parser.add_argument(
        "--variant-model", action="append", default=[], metavar="VARIANT=KIND", help="another model for one variant"
    )
    parser.add_argument("--model-port", type=int, default=8080, help="first model server port (one port per variant)")
    parser.add_argument(
        "--scenario", default="echo", choices=sorted(SCENARIOS), help="scripted model's default scenario"
    )
    parser.add_argument("--proxy-base-url", help="OpenAI-compatible API root for --model proxy")
    parser.add_argument("--proxy-model", help="model name the proxy sends")
    parser.add_argument("--mlflow-port", type=int, default=mlflow_server.DEFAULT_PORT)
    parser.add_argument("--mlflow-dir", type=Path, default=mlflow_server.DEFAULT_DIR)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--invocation-timeout", type=float, default=DEFAULT_INVOCATION_TIMEOUT)
    parser.add_argument(
        "--throttle-rps", type=float, default=None, help="emulated endpoint rate limit (ThrottlingException above it)"
    )
    parser.add_argument(
        "--start-at-zero",
        action="store_true",
        help="inference components that scale to zero start at 0 copies, as an endpoint that has been idle",
    )
    parser.add_argument(
        "--scale-out-from-zero",
        type=float,
        default=DEFAULT_SCALE_OUT_SECONDS,
        metavar="SECONDS",
        help="a component at 0 copies that scales to zero gets a copy this long after its first refused "
        f"request (default {DEFAULT_SCALE_OUT_SECONDS:g}; AWS takes minutes)",
    )
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds each child may take to come up")
    parser.add_argument(
        "--agent-port", type=int, default=DEFAULT_AGENT_PORT, help="the agent service (agent_runtime) port"
    )
    parser.add_argument("--no-agent", action="store_true", help="serve the endpoint only, without the agent service")
    parser.add_argument(
        "--sessions",
        choices=SESSION_STORES,
        default="s3",
        help="where the agent keeps sessions: the local S3 server (as on AWS) or --session-dir",
    )
    parser.add_argument("--s3-port", type=int, default=s3_server.DEFAULT_PORT, help="the local S3 server's port")
    parser.add_argument(
        "--session-dir",
        type=Path,
        default=Path(".local/sessions"),
        help="the agent's conversation state with --sessions files",
    )
    parser.add_argument(
        "--identity-dir",
        type=Path,
        default=DEFAULT_IDENTITY_DIR,
        help="the local identity provider's keys (a new key pair on every start)",
    )
    parser.add_argument(
        "--agent-setting",
        action="append",
        default=[],
        metavar="AGENT_NAME=VALUE",
        help="override one of the agent's AGENT_* settings (e.g. AGENT_MAX_TOKENS=128)",
    )
    return parser.parse_args(argv)


class StartRefused(Exception):
    """The stack cannot start as asked (config, options, ports): exit code 2, nothing started."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        environment = load_local_environment(args.env)
        kinds = variant_kinds(args, environment)
        model_ports = {name: args.model_port + offset for offset, name in enumerate(kinds)}
        check_ports_free(args, model_ports)
        mlflow_release = None if args.no_mlflow else mlflow_server_release(environment)
    except (StartRefused, PortInUseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    children: list[processes.Child] = []
    try:
        # slowest: launch first, wait last
        mlflow = None if args.no_mlflow else start_mlflow(args, mlflow_release, children)
        s3 = None if args.no_agent or args.sessions != "s3" else start_s3(args, environment, children)
        upstreams = start_model_servers(args, environment, kinds, model_ports, children)
        runtime_url = start_emulator(args, environment, upstreams, children)
        if mlflow is not None:
            processes.wait_until_ready(
                mlflow, mlflow_server.health_url(args.host, args.mlflow_port), args.ready_timeout
            )
        if s3 is not None:
            processes.wait_until_ready(s3, s3_server.ready_url(args.host, args.s3_port), args.ready_timeout)
        identity = None if args.no_agent else start_agent(args, environment, runtime_url, children)
        print_summary(args, environment, kinds, upstreams, runtime_url, identity, mlflow_release)
        return supervise(children, stop)
    except (RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            child.stop()


def load_local_environment(env: str):
    """The environment's config; it must have an endpoint to serve."""
    from kit_config.loader import ConfigError, load_environment

    try:
        environment = load_environment(env)
    except ConfigError as error:
        raise StartRefused(str(error)) from None
    if environment.inference is None:
        raise StartRefused(f"environment {env!r} has no inference section: no endpoint to serve")
    return environment


def variant_kinds(args, environment) -> dict[str, str]:
    """{variant: model kind}: --model for every variant, unless --variant-model says otherwise."""
    kinds = {variant.name: args.model for variant in environment.inference.variants}
    for item in args.variant_model:
        name, _, kind = item.partition("=")
        if name not in kinds or kind not in MODEL_KINDS:
            raise StartRefused(f"--variant-model {item!r}: variants are {sorted(kinds)}, kinds are {MODEL_KINDS}")
        kinds[name] = kind
    return kinds


def check_ports_free(args, model_ports: dict[str, int]) -> None:
    """Every port the stack will listen on is free (PortInUseError names the first taken)."""
    processes.check_port_free(args.host, args.port, "SageMaker Runtime emulator")
    for name, port in model_ports.items():
        processes.check_port_free(args.host, port, f"model server for variant {name}")
    if not args.no_mlflow:
        processes.check_port_free(args.host, args.mlflow_port, "MLflow server")
    if not args.no_agent:
        processes.check_port_free(args.host, args.agent_port, "agent service")
        if args.sessions == "s3":
            processes.check_port_free(args.host, args.s3_port, "local S3 server")


def mlflow_server_release(environment) -> mlflow_server.ServerRelease:
    """The MLflow server release SageMaker runs for the env (its tracking server's version, or an App's);
    its virtualenv must be installed."""
    release = mlflow_server.release_for(environment.mlflow)
    if not release.installed():
        raise StartRefused(
            f"environment {environment.name!r} runs MLflow {release.version} on SageMaker, and its local server's "
            f"virtualenv {release.venv.name} is missing: `make install-mlflow-servers` (or `make local`) installs it"
        )
    return release


def start_mlflow(args, release: mlflow_server.ServerRelease, children: list[processes.Child]) -> processes.Child:
    url = f"http://{args.host}:{args.mlflow_port}"
    mlflow = processes.start(
        f"MLflow {release.version} server",
        mlflow_server.command(args.host, args.mlflow_port, args.mlflow_dir, release=release),
        url,
        env=mlflow_server.SERVER_ENV,
    )
    children.append(mlflow)
    return mlflow


def start_s3(args, environment, children: list[processes.Child]) -> processes.Child:
    """The local S3 server with the agent's session bucket (ready: waited for by the caller)."""
    child = processes.start(
        "local S3 server",
        processes.python_module(
            "local_runtime.s3_server",
            "--host",
            args.host,
            "--port",
            str(args.s3_port),
            "--bucket",
            s3_server.DEFAULT_BUCKET,
            "--region",
            environment.region,
        ),
        s3_server.url(args.host, args.s3_port),
    )
    children.append(child)
    return child


def start_model_servers(
    args, environment, kinds: dict[str, str], model_ports: dict[str, int], children: list[processes.Child]
) -> dict[str, str]:
    """One model server per variant, each ready before the next starts; returns {variant: url}."""
    upstreams = {}
    context = {variant.name: variant.model.max_model_len for variant in environment.inference.variants}
    for name, kind in kinds.items():
        url = f"http://{args.host}:{model_ports[name]}"
        command = model_command(kind, model_ports[name], args, context[name])
        child = processes.start(f"{kind} model server ({name})", command, url)
        children.append(child)
        processes.wait_until_ready(child, f"{url}/ping", args.ready_timeout)
        upstreams[name] = url
    return upstreams


def start_emulator(args, environment, upstreams: dict[str, str], children: list[processes.Child]) -> str:
    """The SageMaker Runtime emulator in front of the model servers, ready; returns its URL."""
    endpoints = endpoints_from_environment(environment, upstreams)
    endpoints_file = Path(tempfile.mkdtemp(prefix="local-runtime-")) / "endpoints.json"
    endpoints_file.write_text(dump_endpoints(endpoints), encoding="utf-8")
    runtime_url = f"http://{args.host}:{args.port}"
    emulator = processes.start(
        "SageMaker Runtime emulator",
        processes.python_module(
            "local_runtime.emulator",
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--endpoints-file",
            str(endpoints_file),
            "--invocation-timeout",
            str(args.invocation_timeout),
            *(["--throttle-rps", str(args.throttle_rps)] if args.throttle_rps else []),
            "--scale-out-from-zero",
            str(args.scale_out_from_zero),
            *(["--start-at-zero"] if args.start_at_zero else []),
        ),
        runtime_url,
    )
    children.append(emulator)
    processes.wait_until_ready(emulator, f"{runtime_url}/ping", args.ready_timeout)
    return runtime_url


def start_agent(args, environment, runtime_url: str, children: list[processes.Child]) -> LocalIdentity:
    """The agent with a fresh local identity, ready and tracing; returns the identity."""
    identity = LocalIdentity.create(args.identity_dir)
    agent_url = f"http://{args.host}:{args.agent_port}"
    agent = processes.start(
        "agent service",
        processes.python_module("agent_runtime", "--host", args.host, "--port", str(args.agent_port)),
        agent_url,
        env=agent_environment(args, environment, runtime_url, identity),
    )
    children.append(agent)
    processes.wait_until_ready(agent, f"{agent_url}/health", args.ready_timeout)
    # The agent sets MLflow up in the background (never on a request's path): wait for it
    # here, so the first request made against `make local` is traced.
    processes.wait_until_ready(
        agent,
        f"{agent_url}/health",
        args.ready_timeout,
        accept=lambda body: json.loads(body).get("tracing") != "starting",
    )
    return identity


def supervise(children: list[processes.Child], stop: threading.Event) -> int:
    """Until a signal (0) or a child exits on its own (1)."""
    while not stop.wait(0.5):
        exited = next((child for child in children if child.process.poll() is not None), None)
        if exited:
            print(f"error: {exited.name} exited with code {exited.process.returncode}; stopping", file=sys.stderr)
            return 1
    print("\nstopping local runtime ...", flush=True)
    return 0


def agent_environment(args, environment, runtime_url: str, identity: LocalIdentity) -> dict[str, str]:
    """The env's AGENT_* settings (as the stacks set them), pointed at the local endpoint, MLflow and
    the local identity provider."""
    from kit_config.runtime_environment import runtime_environment

    tracking_uri = None if args.no_mlflow else f"http://{args.host}:{args.mlflow_port}"
    overrides = dict(item.split("=", 1) for item in args.agent_setting)
    unknown = [name for name in overrides if not name.startswith("AGENT_")]
    if unknown:
        raise SystemExit(f"error: --agent-setting takes AGENT_* settings; got {unknown}")
    deployed = runtime_environment(
        environment, mlflow_tracking_uri=tracking_uri, session_dir=str(args.session_dir.resolve())
    )
    # The bucket is set here, not through runtime_environment: that would take it for a deployment
    # (KMS caller ids, the sessions gauge), and locally the identity is the local provider's.
    sessions = (
        {
            "AGENT_SESSION_BUCKET": s3_server.DEFAULT_BUCKET,
            "AWS_ENDPOINT_URL_S3": s3_server.url(args.host, args.s3_port),  # boto3 reads it
        }
        if args.sessions == "s3"
        else {}
    )
    return {
        **{name: value for name, value in deployed.items() if name not in FOREIGN_SETTINGS},
        **identity.agent_settings(),
        **sessions,
        **overrides,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime_url,
        "AWS_DEFAULT_REGION": environment.region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def print_summary(
    args, environment, kinds, upstreams, runtime_url, identity: LocalIdentity | None, mlflow_release=None
) -> None:
    endpoint = environment.inference.endpoint_name
    lines = [
        "",
        f"Local SageMaker AI runtime for env {environment.name!r} is up (Ctrl-C stops everything)",
        f"  SageMaker Runtime emulator  {runtime_url}",
        f"  endpoint                    {endpoint} (region {environment.region}, account {environment.account})",
    ]
    for name, url in upstreams.items():
        lines.append(f"  variant {name:<19} {kinds[name]} model server at {url}")
    components = [
        (variant.component_name(endpoint), variant.inference_component)
        for variant in environment.inference.variants
        if variant.inference_component is not None
    ]
    for name, component in components:
        copies = 0 if args.start_at_zero and component.scales_to_zero else component.initial_copies
        lines.append(
            f"  inference component         {name} ({copies} cop{'y' if copies == 1 else 'ies'}"
            + (
                f"; scales to zero, back {args.scale_out_from_zero:g} s after a refused request)"
                if component.scales_to_zero
                else ")"
            )
        )
    if not args.no_mlflow:
        lines.append(
            f"  MLflow {mlflow_release.version:<20} http://{args.host}:{args.mlflow_port}  (data in {args.mlflow_dir};"
            f" the server {environment.name}'s {environment.mlflow.kind.replace('_', ' ')} runs on SageMaker)"
        )
    if not args.no_agent:
        lines.append(
            f"  agent service               http://{args.host}:{args.agent_port}  (POST /invoke, /invoke/stream; GET /health)"
        )
        lines.append(f"  identity provider           {identity.issuer} (keys in {identity.folder})")
        if args.sessions == "s3":
            lines.append(
                f"  sessions                    local S3 {s3_server.url(args.host, args.s3_port)}, bucket "
                f"{s3_server.DEFAULT_BUCKET} (in memory: gone when the stack stops; --sessions files keeps them)"
            )
        else:
            lines.append(f"  sessions                    files in {args.session_dir}")
    lines += [
        "",
        "Point boto3 / Strands at it:",
        f"  export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME={runtime_url} AWS_ENDPOINT_URL_SAGEMAKER={runtime_url}",
        f"  export AWS_DEFAULT_REGION={environment.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
    ]
    if not args.no_mlflow:
        lines.append(f"  export MLFLOW_TRACKING_URI=http://{args.host}:{args.mlflow_port}")
    if components:
        name = components[0][0]
        lines += [
            "",
            f"The endpoint serves inference components: a request names one (InferenceComponentName={name}).",
            "Scale it to zero and back (then GET /_local/components shows its copies and NoCapacityInvocationFailures):",
            f"  aws sagemaker update-inference-component-runtime-config --endpoint-url {runtime_url} \\",
            f"    --inference-component-name {name} --desired-runtime-config CopyCount=0",
        ]
    if identity is not None:
        lines += [
            "",
            "Call the agent as caller 'local-user' (another caller: python -m local_runtime.identity token NAME"
            f" --dir {identity.folder}):",
            f"  curl -s http://{args.host}:{args.agent_port}/invoke -H 'Content-Type: application/json' \\",
            f"    -H 'Authorization: Bearer {identity.token('local-user')}' \\",
            '    -d \'{"prompt": "My VPN keeps dropping"}\'',
            '  (the answer\'s session_id continues the conversation: add "session_id": "..." to the body)',
        ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
