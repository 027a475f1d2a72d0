"""The egress contract of an environment: every destination of the registry, the host its client
derives, and the private route that serves it in the environment's synthesized network.

In the kit's isolated network (no internet or NAT gateway) a host without a private route is a call
that fails at run time; the agent's tracing fails quietly by design, so only this check sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from governance.egress.deployment import AgentDeployment
from governance.egress.destinations import DESTINATIONS, Destination
from governance.egress.routes import route_for


@dataclass(frozen=True)
class Leg:
    environment: str
    destination: Destination
    host: str
    route: str | None


def egress_legs(deployment: AgentDeployment, destinations: Iterable[Destination] = DESTINATIONS) -> list[Leg]:
    return [
        Leg(deployment.name, destination, host, route_for(host, deployment))
        for destination in destinations
        for host in destination.hosts(deployment)
    ]


def contract_problems(deployment: AgentDeployment, destinations: Iterable[Destination] = DESTINATIONS) -> list[str]:
    """One line per host the deployed code calls that the environment's network cannot reach."""
    endpoints = ", ".join(
        endpoint.service_name for endpoint in deployment.network.interface_endpoints if endpoint.private_dns
    )
    return [
        f"{leg.environment}: {leg.destination.name} ({', '.join(leg.destination.callers)}; {leg.destination.client}) "
        f"calls {leg.host}, and the network has no private route to it (interface endpoints with private DNS: "
        f"{endpoints or 'none'}; S3 gateway: {'yes' if deployment.network.s3_gateway else 'no'})"
        for leg in egress_legs(deployment, destinations)
        if leg.route is None
    ]


def contract_table(deployments: Iterable[AgentDeployment]) -> str:
    """The contract as a Markdown table (docs/deploy-readiness.md holds it; a test keeps it current)."""
    lines = [
        "| Environment | Destination | Called by | Host | Private route |",
        "|---|---|---|---|---|",
    ]
    for deployment in deployments:
        for leg in egress_legs(deployment):
            lines.append(
                f"| {leg.environment} ({deployment.host}) | {leg.destination.name} | "
                f"{', '.join(leg.destination.callers)} | `{leg.host}` | {leg.route or '**none**'} |"
            )
    return "\n".join(lines)


BEGIN, END = "<!-- egress-contract:begin -->", "<!-- egress-contract:end -->"


def with_table(document: str, table: str) -> str:
    """`document` with the text between the egress-contract markers replaced by `table`."""
    head, rest = document.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"
