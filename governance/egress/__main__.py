"""`python -m governance.egress [DOC]`: synthesize every environment, print the egress contract's
problems (exit 1 if any), and write its table into DOC (docs/deploy-readiness.md) when given."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    from aws_cdk import App

    from governance.egress.contract import contract_problems, contract_table, with_table
    from governance.egress.deployment import AgentDeployment
    from kit_config import load_environments
    from stacks.kit_app import build_kit_app, cdk_json_context

    configs = load_environments()
    with tempfile.TemporaryDirectory() as outdir:
        kit = build_kit_app(App(outdir=outdir, context=cdk_json_context()), configs)
        assembly = kit.synth()
        templates = {
            (stage.stage_name, stack.hierarchical_id.split("/")[-1]): stack.template
            for stage in kit.stages
            for stack in assembly.get_nested_assembly(stage.artifact_id).stacks
        }
    deployments = [AgentDeployment(config, templates) for config in configs]
    problems = [problem for deployment in deployments for problem in contract_problems(deployment)]
    print("\n".join(problems) or "egress contract: every destination has a private route")
    if argv:
        path = Path(argv[0])
        path.write_text(with_table(path.read_text(encoding="utf-8"), contract_table(deployments)), encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
