"""Docs, diagram and CI workflow stay true to the code: targets exist, the diagram is current."""

from __future__ import annotations

import re
import subprocess

import yaml

from kit_config.project import PROJECT_DIR
from release.diagram import architecture_markdown

DOCS = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def make_targets() -> set[str]:
    output = subprocess.run(["make", "-s", "help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    return {line.split()[1] for line in output.splitlines() if line.strip().startswith("make ")}


def test_every_make_command_in_the_docs_exists():
    targets = make_targets()
    assert {"synth", "test", "diff", "deploy", "diagram", "local"} <= targets
    mentioned = {}
    for doc in DOCS:
        for target in re.findall(r"\bmake ([a-z][a-z-]*)\b", doc.read_text(encoding="utf-8")):
            mentioned.setdefault(target, doc.name)
    missing = {target: doc for target, doc in mentioned.items() if target not in targets}
    assert not missing, f"documented but not in the Makefile: {missing}"
    assert {"diff", "deploy"} <= set(mentioned)


def test_architecture_diagram_matches_the_synthesized_app(synthesized):
    committed = (PROJECT_DIR / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert architecture_markdown(synthesized.outdir) == committed, "docs/architecture.md is stale: run `make diagram`"
    for env, stack in synthesized.templates:
        assert f'["{env}-{stack}"]' in committed


def test_docs_cover_deploy_and_operations():
    deploy = (PROJECT_DIR / "docs" / "deploy.md").read_text()
    for env in ("dev", "staging", "prod"):
        assert f"make deploy ENV={env}" in deploy
    for topic in ("cdk bootstrap aws://", "--profile", "CONFIRM=prod", "LMI", "s3_uri"):
        assert topic in deploy
    runbook = (PROJECT_DIR / "docs" / "runbook.md").read_text()
    for heading in (
        "## Rollback",
        "## Scaling",
        "## Rotating keys",
        "## Endpoint failing health checks",
        "## MLflow unavailable",
    ):
        assert heading in runbook
    governance = (PROJECT_DIR / "docs" / "governance.md").read_text()
    assert "newly acknowledged" in governance.lower() and "cdk.out/compliance/" in governance
    readme = (PROJECT_DIR / "README.md").read_text()
    quickstart = readme[: readme.index("## Layout")]
    assert quickstart.index("make synth") < quickstart.index("make test") < quickstart.index("make local")


def test_ci_workflow_calls_ci_run_and_uploads_reports_and_diff():
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow.get("on") or workflow.get(True)  # PyYAML reads the key `on` as True
    assert "pull_request" in triggers
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert any(
        s.get("uses", "").startswith("actions/setup-python@") and s["with"]["python-version"] == "3.11" for s in steps
    )
    assert any(s.get("uses", "").startswith("actions/setup-node@") for s in steps)
    runs = [s["run"] for s in steps if "run" in s]
    assert any(r.strip() == "bash .ci/run" for r in runs)
    uploads = " ".join(s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "cdk.out/compliance/" in uploads and "cdk.diff/*-diff.md" in uploads
    script = (PROJECT_DIR / ".ci" / "run").read_text()
    for command in ("make test", "make synth", "make diff ENV=dev,staging,prod OFFLINE=1"):
        assert command in script
