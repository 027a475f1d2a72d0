"""`agent.dns`: the name callers use for a Fargate agent, and what its TLS certificate must cover.

Callers verify the load balancer's certificate against the host name they connect to (RFC 9110
§4.3.4; RFC 6125 §6). An internal load balancer's own DNS name
(`internal-<name>-<id>.<region>.elb.amazonaws.com`) belongs to AWS, and no ACM certificate can
cover it, so HTTPS needs a name of the operator's: the kit writes an A-alias record for
`record_name` to the load balancer into a private hosted zone (the one `hosted_zone_id` names, or
one it creates for `zone_name`, associated with the agent's VPC), and the stack outputs
`https://<record_name>`.

Whether the ACM certificate covers `record_name` is known only to ACM (a deploy-time fact); when
config lists the certificate's names (`certificate_names`), config load checks the record against
them, with ACM's wildcard rule: the `*` "must be in the leftmost position of the domain name and
can protect only one subdomain level", and `*.example.com` does not cover `example.com` ("Request a
public certificate", ACM user guide, https://docs.aws.amazon.com/acm/latest/userguide/gs-acm-request-public.html;
RFC 6125 §6.4.3).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator

from kit_config.config_section import ConfigSection
from kit_config.validation_errors import errors_at

# A DNS name as Route 53 and ACM take it: labels of letters, digits and hyphens (not at either end),
# 1-63 characters each, at most 253 in all, at least two labels
# (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html).
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")
_HOSTED_ZONE_ID = r"^Z[A-Z0-9]{1,31}$"


def _normalized(value: object) -> object:
    """DNS names are case-insensitive and may be written with the root's trailing dot."""
    return value.strip().lower().removesuffix(".") if isinstance(value, str) else value


def _dns_name(value: str) -> str:
    if len(value) > 253 or not _DNS_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a DNS name: two or more labels of letters, digits and inner hyphens, "
            "each at most 63 characters, at most 253 in all"
        )
    return value


def _certificate_name(value: str) -> str:
    # ACM accepts a wildcard only as the whole leftmost label (`*.example.com`).
    if value.startswith("*."):
        _dns_name(value[2:])
        return value
    return _dns_name(value)


DnsName = Annotated[str, BeforeValidator(_normalized)]


def certificate_covers(certificate_name: str, host: str) -> bool:
    """Whether a certificate name (exact or `*.` wildcard) covers `host` (RFC 6125 §6.4.3: the `*`
    stands for exactly one label)."""
    if certificate_name.startswith("*."):
        suffix = certificate_name[1:]  # ".example.com"
        label, _, rest = host.partition(".")
        return bool(label) and "." + rest == suffix
    return certificate_name == host


def within_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


class AgentDns(ConfigSection):
    """The agent's host name: an A-alias record to the internal load balancer in a private hosted zone."""

    zone_name: DnsName = Field(description="The private hosted zone's domain, e.g. agents.example.com")
    hosted_zone_id: Annotated[str, Field(pattern=_HOSTED_ZONE_ID)] | None = Field(
        default=None,
        description="An existing private hosted zone for zone_name, associated with the VPCs the callers resolve "
        "from (e.g. the network team's, with an existing VPC); unset: the kit creates one for zone_name, "
        "associated with the agent's VPC",
    )
    record_name: DnsName = Field(description="The agent's host name, zone_name itself or a name inside it")
    certificate_names: list[DnsName] | None = Field(
        default=None,
        min_length=1,
        description="The names agent.certificate_arn covers (its domain name and subject alternative names, as "
        "ACM lists them): config load then checks that record_name is one of them. Unset: not checked offline",
    )

    @field_validator("zone_name", "record_name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _dns_name(value)

    @field_validator("certificate_names")
    @classmethod
    def _valid_certificate_names(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else [_certificate_name(name) for name in names]

    @model_validator(mode="after")
    def _record_in_zone_and_certificate(self) -> AgentDns:
        problems = []
        if not within_zone(self.record_name, self.zone_name):
            problems.append(
                (
                    ("record_name",),
                    f"{self.record_name!r} is not inside zone_name {self.zone_name!r}: a hosted zone holds records "
                    "for its own domain and names below it only",
                )
            )
        elif self.certificate_names is not None and not any(
            certificate_covers(name, self.record_name) for name in self.certificate_names
        ):
            problems.append(
                (
                    ("record_name",),
                    f"{self.record_name!r} is not covered by the certificate's names ({', '.join(self.certificate_names)}): "
                    "callers would refuse the connection (hostname verification). A wildcard covers one label only "
                    "(*.example.com covers agent.example.com, not agent.staging.example.com); request a certificate "
                    "for the record, or change record_name",
                )
            )
        if problems:
            raise errors_at("AgentDns", problems)
        return self

    @property
    def url(self) -> str:
        return f"https://{self.record_name}"
