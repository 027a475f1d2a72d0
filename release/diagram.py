"""docs/architecture.md: Mermaid diagrams generated from a synthesized cloud assembly.

One flowchart per environment: a box per stack with its key resources (counted by type, from
the templates) and an arrow per stack dependency (from the assembly manifest). A test
regenerates the file from the session's synthesis and compares, so it cannot drift from the
code; regenerate with `make diagram`.

    python -m release.diagram cdk.out > docs/architecture.md
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from release.assembly import environments, stacks

# Resource types shown, in display order, with their label. Others (policies, alias, rules...) are omitted.
KEY_RESOURCES = {
    "AWS::KMS::Key": "KMS key",
    "AWS::SNS::Topic": "SNS alarm topic",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::EC2::VPC": "VPC (isolated)",
    "AWS::EC2::Subnet": "isolated subnet",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::EC2::FlowLog": "VPC flow log",
    "AWS::SageMaker::MlflowTrackingServer": "MLflow tracking server",
    "AWS::SageMaker::MlflowApp": "MLflow App",
    "AWS::SageMaker::Model": "SageMaker model",
    "AWS::SageMaker::EndpointConfig": "endpoint config",
    "AWS::SageMaker::Endpoint": "SageMaker endpoint",
    "AWS::ApplicationAutoScaling::ScalableTarget": "autoscaling target",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::ECS::Service": "Fargate service",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "internal ALB",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::Lambda::Url": "Function URL (IAM auth)",
    "AWS::IAM::Role": "IAM role",
    "AWS::Logs::LogGroup": "KMS-encrypted log group",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboard",
    "AWS::Budgets::Budget": "AWS Budgets cost budget",
}

HEADER = """# Architecture

Generated from the synthesized app by `python -m release.diagram` (`make diagram`); a test
regenerates it from the test session's synthesis and fails if this file differs, so it always
matches the code. Each box is a CloudFormation stack (`<env>-<Stack>`) with its key resources
counted by type; an arrow points from a stack to a stack it depends on (deploy order is the
reverse). Policies, aliases and other supporting resources are omitted.
"""


def _node_id(*parts: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else "_" for ch in part) for part in parts)


def environment_diagram(assembly_dir: Path, environment: str) -> str:
    lines = ["```mermaid", "flowchart TB"]
    edges = []
    for stack in stacks(assembly_dir, environment):
        stack_node = _node_id(environment, stack.stack_id)
        lines.append(f'  subgraph {stack_node}["{stack.stack_name}"]')
        counts = Counter(resource.get("Type") for resource in (stack.template().get("Resources") or {}).values())
        shown = [(resource_type, label) for resource_type, label in KEY_RESOURCES.items() if counts[resource_type]]
        if not shown:
            lines.append(f'    {stack_node}_empty["(no key resources)"]')
        for resource_type, label in shown:
            count = counts[resource_type]
            text = label if count == 1 else f"{label} ×{count}"
            lines.append(f'    {_node_id(stack_node, resource_type.split("::", 1)[1])}["{text}"]')
        lines.append("  end")
        for dependency in stack.dependencies:
            edges.append(f"  {stack_node} --> {_node_id(environment, dependency)}")
    lines += edges + ["```"]
    return "\n".join(lines)


def architecture_markdown(assembly_dir: Path) -> str:
    sections = [HEADER]
    for environment in environments(assembly_dir):
        sections.append(f"## `{environment}`\n\n{environment_diagram(assembly_dir, environment)}\n")
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assembly", type=Path, nargs="?", default=Path("cdk.out"))
    args = parser.parse_args(argv)
    sys.stdout.write(architecture_markdown(args.assembly))
    return 0


if __name__ == "__main__":
    sys.exit(main())
