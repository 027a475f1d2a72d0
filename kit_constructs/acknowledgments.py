"""Acknowledging cdk-nag findings: one finding per id, on the construct it concerns, with its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, reasons: dict[str, str]) -> None:
    """`{"AwsSolutions-IAM5[Resource::...]": "why this finding is accepted", ...}` on `construct`."""
    for rule_id, reason in reasons.items():
        Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
