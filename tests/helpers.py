"""Constants and small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib

ENVIRONMENTS = ("dev", "staging", "prod")
STACKS = ("Foundation", "Network", "Mlflow", "Inference", "Agent", "Observability")


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only(items: dict) -> dict:
    assert len(items) == 1, f"expected exactly one, got {list(items)}"
    return next(iter(items.values()))


def gate_findings(build, *, tmp_path, tagged: bool = True, min_retention: int = 30) -> dict[str, list[str]]:
    """Synthesize a one-stack app behind the governance gate; return {rule id: [construct paths]}.

    `build(stack)` adds the construct under test. An empty result means synth passed the gate.
    """
    from aws_cdk import App, Environment, Stack, Stage, Tags

    from governance.gate import enable_governance
    from governance.policy import GovernancePolicy
    from stacks.kit_app import cdk_json_context

    app = App(outdir=str(tmp_path / "gate.out"), context=cdk_json_context())
    stage = Stage(app, "gate", env=Environment(account="123456789012", region="us-east-1"))
    stack = Stack(stage, "UnderTest")
    build(stack)
    if tagged:
        for key in ("Project", "Environment", "Owner", "CostCenter", "DataClassification"):
            Tags.of(stack).add(key, "gate-test")
    enable_governance(app, {"gate": GovernancePolicy(min_log_retention_days=min_retention)})
    return synth_findings(app)


def synth_findings(app) -> dict[str, list[str]]:
    """Synthesize `app` (validation plugins registered); {rule id: [construct paths]}, {} if synth passed."""
    import json
    from pathlib import Path

    try:
        app.synth()
        return {}
    except RuntimeError as error:
        assert "ValidationFailed" in str(error), error
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    findings: dict[str, list[str]] = {}
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            paths = [c["constructPath"] for c in violation["violatingConstructs"]]
            findings.setdefault(violation["ruleName"], []).extend(paths)
    return findings


@contextlib.contextmanager
def stubbed_client(service: str):
    """A real boto3 client behind botocore's Stubber (a test double of the AWS API): yields
    (client, stubber) and fails the test if a queued response was never asked for."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def run_app_py(config_dir, outdir):
    """`python app.py` as a user runs it, on the config in `config_dir`, writing (if at all) to `outdir`."""
    import os
    import subprocess

    from kit_config.project import PROJECT_DIR

    env = {**os.environ, "KIT_CONFIG_DIR": str(config_dir), "CDK_OUTDIR": str(outdir)}
    env["PATH"] = f"{PROJECT_DIR / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(PROJECT_DIR / ".venv" / "bin" / "python"), "app.py"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
