"""Shared fixtures. The full app (every environment, every pack) is synthesized once per session."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# jsii runs on the Node.js installed in node_modules (22), as under `make test`; set before
# aws_cdk is imported, which starts the jsii runtime.
os.environ["PATH"] = f"{PROJECT_DIR / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

import pytest  # noqa: E402
from aws_cdk import App  # noqa: E402

from kit_config import EnvironmentConfig, load_environments  # noqa: E402
from stacks.kit_app import KitApp, build_kit_app, cdk_json_context  # noqa: E402
from tests.helpers import ENVIRONMENTS  # noqa: E402


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
