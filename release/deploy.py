"""`make deploy ENV=<env>`: deploy one environment, only when every guard passes.

Refuses (exit 1, one message saying what to do), checking in this order, when:
  - the environment's config is invalid or unknown;
  - no AWS credentials are configured (the env's `deploy.profile`, AWS_* variables, a profile);
  - prod (or `deploy.require_confirmation`) is not confirmed: type the environment's name at
    the prompt, or set CONFIRM=<env> for automation; a non-interactive run without it refuses;
  - the working tree is dirty (what is deployed must be a commit; its id is recorded);
  - synth or the governance gate fails;
  - preflight (release/preflight.py) finds what the account would reject: a missing serving
    image or weights prefix, a SageMaker quota below the blue/green peak, Lambda concurrency that
    cannot be reserved, an old or missing CDK bootstrap, an endpoint update that fights autoscaling.

Then it deploys exactly the assembly it just synthesized and gated (`cdk deploy --app <assembly>`)
with the env's profile and CloudFormation role, `--require-approval` from config (prod: at least
`broadening`), the commit as the `DeployedCommit` stack tag (`-c deployed_commit=<sha>`),
records the deployment in the env's MLflow (release/record_deployment.py) and registers the
agent version it deployed there (release/register_agent.py: the runtime then finds it at start
instead of registering it), both best effort.

    python -m release.deploy --env staging [--dry-run]

`--dry-run` (or KIT_DEPLOY_DRY_RUN=1) runs every guard and the synth, prints what preflight would
check and the deploy command, and stops: nothing reaches AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from release import toolchain
from release.assembly import compliance_rows
from release.credentials import credential_source

DEPLOY_OUT = Path("cdk.out.deploy")
_APPROVAL_RANK = {"never": 0, "broadening": 1, "any-change": 2}


class Refused(Exception):
    """A guard failed; the message is shown to the operator as is."""


def _require_clean_tree(project_dir: Path) -> str:
    dirty = toolchain.dirty_paths(project_dir)
    if dirty:
        listed = "\n".join(f"    {path}" for path in dirty[:20]) + ("\n    ..." if len(dirty) > 20 else "")
        raise Refused(
            "the working tree has uncommitted changes; deploy only committed code (its commit is recorded "
            f"in the stack tags and MLflow). Commit or stash:\n{listed}"
        )
    return toolchain.head_commit(project_dir)


def _require_credentials(profile: str | None) -> tuple[str, str | None]:
    """(description, profile to pass to the CLI or None)."""
    source = credential_source(profile)
    if source is None:
        where = (
            f"profile {profile!r} (deploy.profile) is not in ~/.aws/config or ~/.aws/credentials, and "
            if profile
            else ""
        )
        raise Refused(
            f"no AWS credentials are configured: {where}no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity or "
            "AWS_PROFILE is set. Configure them (e.g. `aws configure sso --profile "
            f"{profile or 'NAME'}`, then `aws sso login --profile {profile or 'NAME'}`); see docs/deploy.md."
        )
    use_profile = profile if profile and source == f"profile {profile}" else None
    if profile and use_profile is None:
        print(f"note: profile {profile!r} is not configured here; using {source}", file=sys.stderr)
    return source, use_profile


def needs_confirmation(environment: str, config) -> bool:
    return environment == "prod" or config.deploy.require_confirmation


def _confirm(environment: str, *, stdin=None) -> None:
    stdin = stdin or sys.stdin
    automated = os.environ.get("CONFIRM")
    if automated is not None:
        if automated.strip() != environment:
            raise Refused(
                f"CONFIRM={automated!r} does not match the environment {environment!r}; set CONFIRM={environment}"
            )
        return
    if not stdin.isatty():
        raise Refused(
            f"deploying {environment} needs an explicit confirmation: run it in a terminal and type "
            f"{environment!r}, or set CONFIRM={environment} (automation)"
        )
    print(
        f"You are about to deploy {environment}. Type the environment name ({environment}) to continue: ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    answer = stdin.readline().strip()
    if answer != environment:
        raise Refused(f"confirmation {answer!r} does not match {environment!r}; nothing was deployed")


def require_approval(environment: str, configured: str) -> str:
    if environment == "prod" and _APPROVAL_RANK[configured] < _APPROVAL_RANK["broadening"]:
        return "broadening"
    return configured


def _synth(project_dir: Path, environment: str, commit: str, outdir: Path) -> None:
    command = toolchain.synth_command(outdir, [environment], {"deployed_commit": commit})
    print(f"$ {' '.join(command)}", file=sys.stderr)
    result = subprocess.run(command, cwd=project_dir, env=toolchain.cli_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr + result.stdout).strip().splitlines()[-30:])
        rows = compliance_rows(outdir, environment) or []
        findings = "".join(
            f"\n    {row.rule_id} on {row.resource_path}" for row in rows if row.status == "UNACKNOWLEDGED"
        )
        findings = (
            f"\nUnacknowledged findings (fix them or acknowledge them, see docs/governance.md):{findings}"
            if findings
            else ""
        )
        raise Refused(f"synth or the governance gate failed; nothing was deployed:\n{tail}{findings}")
    print(result.stderr.strip(), file=sys.stderr)


def _preflight(config, outdir: Path, profile: str | None, *, dry_run: bool) -> None:
    """The account-side checks (release/preflight.py) on the gated assembly; a dry run only explains them."""
    from release import preflight

    if dry_run:
        print(preflight.explain(preflight.plan(config, outdir), profile), file=sys.stderr)
        return
    print(f"Preflight: checking {config.name}'s account...", file=sys.stderr)
    findings = preflight.preflight(config, outdir, preflight.session_for(config, profile), profile=profile)
    print(preflight.report(findings), file=sys.stderr)
    message = preflight.refusal(findings, config.name)
    if message:
        raise Refused(f"{message}\nNothing was deployed.")


def deploy_command(environment: str, outdir: Path, config, profile: str | None, outputs_file: Path) -> list[str]:
    command = [
        str(toolchain.CDK),
        "deploy",
        "--app",
        str(outdir),
        f"{environment}/*",
        "--require-approval",
        require_approval(environment, config.deploy.require_approval),
        "--outputs-file",
        str(outputs_file),
    ]
    if profile:
        command += ["--profile", profile]
    if config.deploy.role_arn:
        command += ["--role-arn", config.deploy.role_arn]
    return command


def run(environment: str, project_dir: Path, *, dry_run: bool) -> int:
    from kit_config import ConfigError, load_environment

    try:
        config = load_environment(environment, toolchain.config_dir(project_dir))
    except ConfigError as error:
        raise Refused(f"configuration error: {error}") from None
    source, profile = _require_credentials(config.deploy.profile)
    if needs_confirmation(environment, config):
        _confirm(environment)
    commit = _require_clean_tree(project_dir)
    outdir = project_dir / DEPLOY_OUT / environment
    _synth(project_dir, environment, commit, outdir)
    _preflight(config, outdir, profile, dry_run=dry_run)
    outputs_file = outdir / "outputs.json"
    command = deploy_command(environment, outdir, config, profile, outputs_file)
    print(f"Deploying {environment} at {commit[:12]} with {source}:\n$ {' '.join(command)}", file=sys.stderr)
    if dry_run:
        print(
            "then: record the deployment and register the agent version in the env's MLflow (TrackingUri output)",
            file=sys.stderr,
        )
        print("dry run: stopping before `cdk deploy`; nothing was sent to AWS.", file=sys.stderr)
        return 0
    result = subprocess.run(command, cwd=project_dir, env=toolchain.cli_environment())
    if result.returncode != 0:
        print(f"cdk deploy failed (exit {result.returncode}); see docs/runbook.md#rollback", file=sys.stderr)
        return result.returncode
    from release import register_agent
    from release.record_deployment import record, tracking_uri_from_outputs

    outputs = json.loads(outputs_file.read_text()) if outputs_file.is_file() else {}
    tracking_uri = tracking_uri_from_outputs(outputs, environment)
    record(
        environment=environment,
        commit=commit,
        tracking_uri=tracking_uri,
        region=config.region,
        profile=profile,
        stacks=sorted(outputs) or [f"{environment}/*"],
    )
    register_agent.register(
        config=config, tracking_uri=tracking_uri, commit=commit, region=config.region, profile=profile
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", required=False, default="", help="the one environment to deploy")
    parser.add_argument("--dry-run", action="store_true", default=os.environ.get("KIT_DEPLOY_DRY_RUN") == "1")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    environment = args.env.strip()
    try:
        if not environment or "," in environment:
            raise Refused("name exactly one environment: make deploy ENV=dev|staging|prod")
        return run(environment, args.project_dir.resolve(), dry_run=args.dry_run)
    except Refused as refusal:
        print(f"deploy refused: {refusal}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
