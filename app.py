#!/usr/bin/env python3
"""CDK entry point: `cdk synth` (all environments) or `cdk synth -c env=dev` (one, or a comma list).

Configuration is validated before the app is built, so a config mistake stops synth with a
message naming the file and field, and nothing is written to cdk.out/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kit_config import ConfigError, load_environments


def selected_environments(value: object) -> list[str] | None:
    """`-c env=dev`, `-c env=dev,prod`; absent, empty or `all` selects every environment."""
    if value is None or str(value).strip() in ("", "all"):
        return None
    return [name.strip() for name in str(value).split(",") if name.strip()]


def main() -> int:
    from aws_cdk import App

    # App() creates its output directory, and `-c env=...` is only readable through it; on a
    # config error, remove the directory again if it did not exist before, so nothing is left.
    outdir = os.environ.get("CDK_OUTDIR")
    outdir_existed = outdir is None or Path(outdir).exists()
    # cdk.json's feature flags also when run directly (`python app.py`, the benchmark): the CLI
    # passes the same values, so both ways synthesize the same templates.
    from stacks.kit_app import cdk_json_context

    app = App(context=cdk_json_context())
    try:
        configs = load_environments(selected_environments(app.node.try_get_context("env")))
    except ConfigError as error:
        if not outdir_existed and not any(Path(outdir).iterdir()):
            Path(outdir).rmdir()
        print(f"Configuration error (nothing was synthesized):\n{error}", file=sys.stderr)
        return 1

    from stacks.kit_app import build_kit_app

    kit = build_kit_app(app, configs)
    try:
        assembly = kit.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        print(f"Governance gate failed: {error}", file=sys.stderr)
        return 1
    reports = kit.write_compliance_reports(Path(assembly.directory))
    for report in reports:
        print(
            f"compliance {report.environment}: {'PASS' if report.passed else 'FAIL'}, "
            f"{len(report.acknowledgments)} acknowledgment(s) -> {assembly.directory}/compliance/{report.environment}-compliance.md",
            file=sys.stderr,
        )
    return 0 if all(report.passed for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
