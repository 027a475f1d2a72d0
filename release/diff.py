"""`make diff ENV=dev`: review an environment's infrastructure change, with or without AWS access.

With AWS credentials (and without `--offline`) the CLI's `cdk diff` compares the working tree's
synthesis with the stacks deployed in the environment's account. Without credentials (CI, a
laptop) it compares with a *baseline* synthesized from another git ref — default the merge base
with `main` — checked out in a temporary `git worktree` and synthesized with this checkout's
toolchain; each stack then goes through `cdk diff --template <baseline template>`.

Update hazards come first (release/update_hazards.py: an autoscaled endpoint variant whose
instance type changes, or that is removed, or a blue/green endpoint whose variant names change,
fails the deploy), then a security summary
(release/security_summary.py). Everything is printed and written to `cdk.diff/<env>-diff.md`
(plus `<env>-summary.json`), ready to upload as a CI artifact.

Exit status: 0 when the comparison ran; 1 when it could not (synth or governance gate failed,
unknown ref, CLI error); 2 when `--fail-on` is met (`broadening`: any broadening security
change; `security`: any security-relevant change; `any`: any stack difference); 3 when an
update hazard is found, whatever `--fail-on` says (the deploy would fail).

    python -m release.diff --env dev [--base REF] [--offline] [--fail-on broadening]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from release import toolchain
from release.assembly import StackArtifact, compliance_rows, stacks, templates
from release.credentials import credential_source
from release.security_summary import Summary, summarize
from release.update_hazards import Hazard, find_hazards

DEFAULT_OUT = Path("cdk.diff")
HAZARD_STATUS = 3
BASE_CANDIDATES = ("main", "origin/main")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class DiffError(Exception):
    """The comparison could not be made; the message says why."""


@dataclass
class EnvironmentDiff:
    environment: str
    summary: Summary
    cli_output: str
    stacks_with_differences: int
    hazards: list[Hazard] = field(default_factory=list)

    def markdown(self, baseline_label: str, current_label: str) -> str:
        return (
            hazards_markdown(self.environment, self.hazards)
            + self.summary.to_markdown(baseline_label, current_label)
            + f"\n## cdk diff: `{self.environment}` ({self.stacks_with_differences} stack(s) with differences)\n\n"
            + "```\n"
            + self.cli_output.strip()
            + "\n```\n"
        )


def hazards_markdown(environment: str, hazards: list[Hazard]) -> str:
    if not hazards:
        return ""
    items = "".join(f"- {hazard.message}\n" for hazard in hazards)
    return f"## Update hazards: `{environment}` ({len(hazards)}; deploying this change would fail)\n\n{items}\n"


def stack_hazards(environment: str, new_stacks: list[StackArtifact], baselines: dict[str, dict | None]) -> list[Hazard]:
    """Hazards of updating each stack from its baseline template (None or absent: a new stack)."""
    return [
        hazard
        for stack in new_stacks
        for hazard in find_hazards(
            baselines.get(stack.stack_name), stack.template(), environment=environment, stack=stack.stack_name
        )
    ]


def resolve_base(project_dir: Path, base: str | None) -> tuple[str, str]:
    """(commit, label) of the baseline: `base` if given, else the merge base with main."""
    if base:
        commit = toolchain.git(project_dir, "rev-parse", "--verify", f"{base}^{{commit}}", check=False)
        if not commit:
            raise DiffError(f"unknown git ref {base!r} for the baseline (BASE=...)")
        return commit, f"{base}@{commit[:8]}"
    for candidate in BASE_CANDIDATES:
        commit = toolchain.git(project_dir, "merge-base", "HEAD", candidate, check=False)
        if commit:
            return commit, f"merge base with {candidate}@{commit[:8]}"
    raise DiffError(
        "no baseline: neither 'main' nor 'origin/main' exists here; pass BASE=<ref> "
        "(in CI, check out with fetch-depth: 0)"
    )


def current_label(project_dir: Path) -> str:
    head = toolchain.head_commit(project_dir)[:8]
    return f"working tree (HEAD {head}{' + uncommitted changes' if toolchain.dirty_paths(project_dir) else ''})"


def _synth(cwd: Path, outdir: Path, environments: list[str], *, baseline: bool) -> subprocess.CompletedProcess:
    shutil.rmtree(outdir, ignore_errors=True)
    # The baseline reads its own config/ (KIT_CONFIG_DIR points at the working tree's choice).
    env = toolchain.cli_environment(drop=("KIT_CONFIG_DIR",) if baseline else ())
    return subprocess.run(
        toolchain.synth_command(outdir, environments), cwd=cwd, env=env, capture_output=True, text=True, timeout=1800
    )


def synth_baseline_and_current(
    project_dir: Path, commit: str, environments: list[str], out: Path
) -> tuple[Path, Path, list[str]]:
    """Synthesize the baseline (in a temporary worktree) and the working tree, concurrently."""
    baseline_out, current_out = out / "baseline", out / "current"
    worktree = Path(tempfile.mkdtemp(prefix="kit-baseline-"))
    toolchain.git(project_dir, "worktree", "add", "--detach", "--force", str(worktree), commit)
    try:
        in_baseline = [name for name in environments if (worktree / "config" / f"{name}.yaml").is_file()]
        with ThreadPoolExecutor(max_workers=2) as pool:
            current = pool.submit(_synth, project_dir, current_out, environments, baseline=False)
            base = (
                pool.submit(_synth, worktree, baseline_out, in_baseline, baseline=True)
                if in_baseline and (worktree / "app.py").is_file()
                else None
            )
            current_result, base_result = current.result(), base.result() if base else None
    finally:
        toolchain.git(project_dir, "worktree", "remove", "--force", str(worktree), check=False)
        shutil.rmtree(worktree, ignore_errors=True)
        toolchain.git(project_dir, "worktree", "prune", check=False)
    if current_result.returncode != 0:
        raise DiffError("synth of the working tree failed (config error or governance gate):\n" + _tail(current_result))
    if base_result is not None and base_result.returncode != 0:
        raise DiffError(f"synth of the baseline {commit[:8]} failed:\n" + _tail(base_result))
    missing = sorted(set(environments) - set(in_baseline)) if base_result else list(environments)
    return (baseline_out if base_result else None), current_out, missing


def _tail(result: subprocess.CompletedProcess, lines: int = 40) -> str:
    text = _ANSI.sub("", (result.stderr or "") + (result.stdout or ""))
    return "\n".join(text.strip().splitlines()[-lines:])


def cdk_diff_against_template(
    current_out: Path, stack: StackArtifact, baseline_template: Path, cwd: Path
) -> tuple[str, bool]:
    """`cdk diff --template` for one stack: (CLI text, has differences)."""
    command = [
        str(toolchain.CDK),
        "diff",
        "--app",
        str(current_out),
        "--exclusively",
        "--no-color",
        "--template",
        str(baseline_template),
        stack.display_name,
    ]
    result = subprocess.run(
        command,
        cwd=cwd,
        env=toolchain.cli_environment({"AWS_EC2_METADATA_DISABLED": "true"}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = _ANSI.sub("", result.stderr + result.stdout)
    if result.returncode not in (0, 1) or "Number of stacks with differences" not in text:
        raise DiffError(f"cdk diff of {stack.display_name} failed:\n{text.strip()[-3000:]}")
    text = re.sub(r"\n*✨\s+Number of stacks with differences: \d+\s*", "\n", text).strip()
    return text, "There were no differences" not in text


def offline_diff(
    project_dir: Path, environments: list[str], base: str | None, out: Path
) -> tuple[list[EnvironmentDiff], str, str]:
    commit, baseline_label = resolve_base(project_dir, base)
    label = current_label(project_dir)
    print(f"Baseline: {baseline_label}; current: {label}. Synthesizing both (no AWS access needed)...", file=sys.stderr)
    baseline_out, current_out, missing = synth_baseline_and_current(project_dir, commit, environments, out)
    empty = out / "empty.template.json"
    empty.write_text("{}\n")
    results = []
    for environment in environments:
        current_stacks = stacks(current_out, environment)
        base_stacks = {s.stack_name: s for s in stacks(baseline_out, environment)} if baseline_out else {}
        texts, differing = [], 0
        for stack in current_stacks:
            baseline = base_stacks.get(stack.stack_name)
            text, changed = cdk_diff_against_template(
                current_out, stack, baseline.template_path if baseline else empty, project_dir
            )
            texts.append(text if baseline else f"(new stack: no baseline template)\n{text}")
            differing += changed
        summary = summarize(
            environment,
            templates(baseline_out, environment),
            templates(current_out, environment),
            compliance_rows(baseline_out, environment),
            compliance_rows(current_out, environment),
        )
        if environment in missing:
            summary.notes.append(f"`{environment}` does not exist at the baseline: every stack is new.")
        for removed in summary.removed_stacks:
            texts.append(f"Stack {removed}: removed (present at the baseline only); `cdk deploy` does not delete it.")
        hazards = stack_hazards(environment, current_stacks, {name: s.template() for name, s in base_stacks.items()})
        results.append(EnvironmentDiff(environment, summary, "\n\n".join(texts), differing, hazards))
    return results, baseline_label, label


def deployed_diff(project_dir: Path, environments: list[str], out: Path) -> int:
    """With credentials: `cdk diff` against what is deployed (per environment's profile)."""
    from kit_config import load_environment

    current_out = out / "current"
    result = _synth(project_dir, current_out, environments, baseline=False)
    if result.returncode != 0:
        raise DiffError("synth failed (config error or governance gate):\n" + _tail(result))
    status = 0
    for environment in environments:
        config = load_environment(environment, toolchain.config_dir(project_dir))
        profile = (
            config.deploy.profile
            if config.deploy.profile and credential_source(config.deploy.profile) == f"profile {config.deploy.profile}"
            else None
        )
        hazards = deployed_hazards(config, stacks(current_out, environment), profile)
        if hazards:
            print(hazards_markdown(environment, hazards))
            status = HAZARD_STATUS
        command = [str(toolchain.CDK), "diff", "--app", str(current_out), "--no-color", f"{environment}/*"]
        if profile:
            command += ["--profile", profile]
        print(f"$ {' '.join(command)}", file=sys.stderr)
        completed = subprocess.run(command, cwd=project_dir, env=toolchain.cli_environment())
        if completed.returncode != 0:
            status = max(status, 1)
    return status


def deployed_hazards(config, new_stacks: list[StackArtifact], profile: str | None) -> list[Hazard]:
    """Update hazards against the deployed templates; a warning (no hazard) when they cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    from release.preflight import deployed_templates, session_for

    try:
        cloudformation = session_for(config, profile).client("cloudformation", region_name=config.region)
        deployed = deployed_templates(cloudformation, [stack.stack_name for stack in new_stacks])
    except (BotoCoreError, ClientError) as error:
        print(
            f"warning: could not read {config.name}'s deployed templates, update hazards not checked: {error}",
            file=sys.stderr,
        )
        return []
    return stack_hazards(config.name, new_stacks, deployed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="", help="environment(s), comma-separated; default: all")
    parser.add_argument("--base", default=None, help="git ref of the offline baseline (default: merge base with main)")
    parser.add_argument(
        "--offline", action="store_true", help="compare with the git baseline even when credentials exist"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: cdk.diff)")
    parser.add_argument("--fail-on", choices=("none", "broadening", "security", "any"), default="none")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from kit_config import ConfigError, available_environments

    project_dir = args.project_dir.resolve()
    out = args.out if args.out.is_absolute() else project_dir / args.out
    known = available_environments(toolchain.config_dir(project_dir))
    environments = [name.strip() for name in args.env.split(",") if name.strip()] or known
    try:
        unknown = [name for name in environments if name not in known]
        if unknown:
            raise ConfigError(f"unknown environment(s) {', '.join(unknown)} (known: {', '.join(known)})")
        out.mkdir(parents=True, exist_ok=True)
        source = credential_source()
        if source and not args.offline:
            print(f"AWS credentials found ({source}): comparing with the deployed stacks.", file=sys.stderr)
            return deployed_diff(project_dir, environments, out)
        print("No AWS credentials (or --offline): comparing with a git baseline.", file=sys.stderr)
        results, baseline_label, label = offline_diff(project_dir, environments, args.base, out)
    except (DiffError, ConfigError, RuntimeError) as error:
        print(f"diff failed: {error}", file=sys.stderr)
        return 1

    status, fail_on_met = 0, False
    for result in results:
        text = result.markdown(baseline_label, label)
        (out / f"{result.environment}-diff.md").write_text(text, encoding="utf-8")
        (out / f"{result.environment}-summary.json").write_text(
            json.dumps(
                {
                    "baseline": baseline_label,
                    "current": label,
                    **result.summary.to_json(),
                    "stacks_with_differences": result.stacks_with_differences,
                    "update_hazards": [hazard.message for hazard in result.hazards],
                },
                indent=2,
                default=str,
            )
            + "\n",
            encoding="utf-8",
        )
        print(text)
        summary = result.summary
        if (
            (args.fail_on == "broadening" and summary.broadening)
            or (args.fail_on == "security" and summary.changes)
            or (args.fail_on == "any" and (result.stacks_with_differences or summary.removed_stacks))
        ):
            status, fail_on_met = max(status, 2), True
        if result.hazards:
            status = HAZARD_STATUS
    shown = ", ".join(
        f"{out.relative_to(project_dir) if out.is_relative_to(project_dir) else out}/{r.environment}-diff.md"
        for r in results
    )
    failing = (f"; failing: --fail-on {args.fail_on} is met" if fail_on_met else "") + (
        "; failing: update hazard(s) found, the deploy would fail (see the top of the report)"
        if status == HAZARD_STATUS
        else ""
    )
    print(f"Written: {shown}{failing}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
