"""Shared fixtures and the test tiers. The full app (every environment, every pack) is synthesized
once per run: xdist sends each test file to one worker, and every file that uses `synthesized` to
the same worker (tests/work_units.py), so a module's local stack starts once too.

Tiers are markers (TIERS below; `make test-fast` runs unit and synth, `make test` all of them, in
parallel). A test's tier follows from the fixtures it uses, its module's `pytestmark` or its
parameter's marks; a test with none of them is `unit`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kit_config.project import PROJECT_DIR

# jsii runs on the Node.js installed in node_modules (22), as under `make test`; set before
# aws_cdk is imported, which starts the jsii runtime.
os.environ["PATH"] = f"{PROJECT_DIR / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

import pytest
from aws_cdk import App

from kit_config import EnvironmentConfig, load_environments
from stacks.kit_app import KitApp, build_kit_app, cdk_json_context
from tests.helpers import ENVIRONMENTS

pytest_plugins = ("tests.work_units",)

# Fixtures that start local-runtime processes (tests/agent_runtime/conftest.py, tests/local_runtime/conftest.py).
LOCAL_STACK_FIXTURES = frozenset(
    {
        "scripted_endpoint", "mlflow_url", "agent_env", "agent", "blackhole_mlflow", "fresh_mlflow",
        "scripted_model", "scripted_canary", "header_capture", "recording_model", "emulator", "runtime",
        "control_plane", "local_s3",
    }
)  # fmt: skip
REAL_MODEL_FIXTURES = frozenset({"real_model", "real_emulator", "real_runtime"})
TIERS = {
    "unit": "in-process: no CDK synth of the app, no child servers",
    "synth": "synthesizes CDK (the `synthesized` app, a small app of the test's own, the CLI)",
    "local_stack": "starts local-runtime processes on loopback: emulator, model servers, MLflow, agent",
    "real_model": "the real small model (llama.cpp); always also local_stack",
}


def pytest_configure(config: pytest.Config) -> None:
    for tier, meaning in TIERS.items():
        config.addinivalue_line("markers", f"{tier}: {meaning}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & REAL_MODEL_FIXTURES or item.get_closest_marker("real_model"):
            item.add_marker(pytest.mark.real_model)
            item.add_marker(pytest.mark.local_stack)
        elif fixtures & LOCAL_STACK_FIXTURES:
            item.add_marker(pytest.mark.local_stack)
        if "synthesized" in fixtures:
            item.add_marker(pytest.mark.synth)
        if not any(item.get_closest_marker(tier) for tier in ("synth", "local_stack", "real_model")):
            item.add_marker(pytest.mark.unit)


@dataclass
class SynthesizedKit:
    kit: KitApp
    outdir: Path
    configs: dict[str, EnvironmentConfig]
    templates: dict[tuple[str, str], dict]  # (env, stack id) -> CloudFormation template
    template_paths: dict[tuple[str, str], Path]
    stack_properties: dict[tuple[str, str], dict]  # manifest properties: tags, termination protection


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedKit:
    outdir = tmp_path_factory.mktemp("cdk.out")
    configs = load_environments(list(ENVIRONMENTS))
    kit = build_kit_app(App(outdir=str(outdir), context=cdk_json_context()), configs)
    assembly = kit.synth()
    kit.write_compliance_reports(outdir)
    templates, paths, properties = {}, {}, {}
    for stage in kit.stages:
        nested = assembly.get_nested_assembly(stage.artifact_id)
        for stack in nested.stacks:
            key = (stage.stage_name, stack.hierarchical_id.split("/")[-1])
            templates[key] = stack.template
            paths[key] = Path(stack.template_full_path)
            properties[key] = json.loads(
                json.dumps({"tags": stack.tags, "termination_protection": stack.termination_protection})
            )
    return SynthesizedKit(kit, outdir, {c.name: c for c in configs}, templates, paths, properties)


@pytest.fixture(scope="session")
def local_s3():
    """The local S3 server (local_runtime.s3_server) with the session bucket
    (tests.local_runtime.support.SESSION_BUCKET); its URL."""
    from tests.local_runtime.support import start_s3

    server = start_s3()
    yield server.url
    server.child.stop()
