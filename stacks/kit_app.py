"""Assemble the kit's CDK app: one stage per environment, the governance gate, the reports."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App
from aws_cdk.cx_api import CloudAssembly
from cdk_nag import NagPack

from governance.compliance_report import REPORT_DIR_NAME, ComplianceReport, build_report, write_report
from governance.gate import enable_governance
from governance.policy import GovernancePolicy
from kit_config import EnvironmentConfig
from kit_config.project import PROJECT_DIR
from stacks.environment_stage import EnvironmentStage


@dataclass
class KitApp:
    app: App
    stages: list[EnvironmentStage]
    packs: list[NagPack]

    def synth(self) -> CloudAssembly:
        """Synthesize every stage; raises RuntimeError("ValidationFailed...") on any finding."""
        return self.app.synth()

    def compliance_reports(self) -> list[ComplianceReport]:
        return [build_report(stage, self.packs) for stage in self.stages]

    def write_compliance_reports(self, outdir: Path) -> list[ComplianceReport]:
        """Replace `<outdir>/compliance/` with this synth's reports (none left from older runs)."""
        reports = self.compliance_reports()
        shutil.rmtree(outdir / REPORT_DIR_NAME, ignore_errors=True)
        for report in reports:
            write_report(report, outdir)
        return reports


def build_kit_app(app: App, configs: list[EnvironmentConfig]) -> KitApp:
    stages = [EnvironmentStage(app, config) for config in configs]
    policies = {config.name: GovernancePolicy.for_environment(config) for config in configs}
    return KitApp(app=app, stages=stages, packs=enable_governance(app, policies))


def cdk_json_context(project_dir: Path = PROJECT_DIR) -> dict:
    """The feature flags in cdk.json, for apps built outside the CDK CLI (tests, benchmarks).

    The CLI passes them to app.py; an `App()` built in-process must be given them, or it
    synthesizes with different defaults than `cdk synth` does.
    """
    return json.loads((project_dir / "cdk.json").read_text())["context"]
