"""A Fargate agent verifies bearer tokens, so it is reached over HTTPS only, at a name its certificate covers;
and the server's keep-alive comes from the load balancer's idle timeout, above it by construction."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from kit_config.agent_schema import IDLE_TIMEOUT_MARGIN_SECONDS, KEEP_ALIVE_MARGIN_SECONDS
from kit_config.dns_schema import certificate_covers
from kit_config.runtime_environment import runtime_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="agent")
KEY = "arn:aws:kms:us-east-1:222222222222:key/k"


def dns(change):
    return lambda agent: change(agent["dns"])


BAD = {
    # The refusal the issue asks for: a JWT-verifying agent without HTTPS (staging served HTTP on port 80).
    "bearer tokens without a certificate": (
        "staging",
        lambda a: a.pop("certificate_arn"),
        "agent.certificate_arn",
        "required: the agent verifies a bearer token (identity.jwt) on every request",
    ),
    "https without a name to verify": (
        "prod",
        lambda a: a.pop("dns"),
        "agent.dns",
        "no certificate can cover the internal load balancer's own DNS name",
    ),
    "record outside its zone": (
        "staging",
        dns(lambda d: d.update(record_name="agent.example.org")),
        "agent.dns.record_name",
        "'agent.example.org' is not inside zone_name 'staging.agents.example.com'",
    ),
    "wildcard one level too shallow": (
        "staging",
        dns(lambda d: d.update(record_name="agent.eu.staging.agents.example.com")),
        "agent.dns.record_name",
        "is not covered by the certificate's names (*.staging.agents.example.com)",
    ),
    "wildcard does not cover the zone apex": (
        "staging",
        dns(lambda d: d.update(record_name="staging.agents.example.com")),
        "agent.dns.record_name",
        "A wildcard covers one label only",
    ),
    "certificate for another name": (
        "prod",
        dns(lambda d: d.update(certificate_names=["portal.prod.agents.example.com"])),
        "agent.dns.record_name",
        "callers would refuse the connection (hostname verification)",
    ),
    "wildcard inside a record name": (
        "staging",
        dns(lambda d: d.update(record_name="*.staging.agents.example.com")),
        "agent.dns.record_name",
        "is not a DNS name",
    ),
    "wildcard not leftmost in a certificate name": (
        "prod",
        dns(lambda d: d.update(certificate_names=["agent.*.agents.example.com"])),
        "agent.dns.certificate_names",
        "is not a DNS name",
    ),
    "single-label zone": (
        "staging",
        dns(lambda d: d.update(zone_name="internal", record_name="agent.internal")),
        "agent.dns.zone_name",
        "'internal' is not a DNS name",
    ),
    "hosted zone id that Route 53 never issues": (
        "prod",
        dns(lambda d: d.update(hosted_zone_id="zone-1234")),
        "agent.dns.hosted_zone_id",
        "String should match pattern",
    ),
    "empty certificate names": (
        "prod",
        dns(lambda d: d.update(certificate_names=[])),
        "agent.dns.certificate_names",
        "at least 1 item",
    ),
    "dns on lambda": (
        "dev",
        lambda a: a.update(dns={"zone_name": "dev.agents.example.com", "record_name": "agent.dev.agents.example.com"}),
        "agent.dns",
        "unknown key",
    ),
}


@pytest.mark.parametrize("env, change, field, words", BAD.values(), ids=BAD.keys())
def test_bad_tls_and_dns_settings_name_file_and_field(config_dir, env, change, field, words):
    edit(config_dir, env, change)
    assert_rejected(config_dir, env, field, words)


def test_both_fargate_environments_serve_https_at_a_name_their_certificate_covers():
    for env in ("staging", "prod"):
        agent = load_environment(env).agent
        assert agent.certificate_arn and agent.dns.url == f"https://agent.{env}.agents.example.com"
        assert any(certificate_covers(name, agent.dns.record_name) for name in agent.dns.certificate_names)
    assert load_environment("staging").agent.dns.hosted_zone_id is None  # the kit creates the zone in its VPC
    assert load_environment("prod").agent.dns.hosted_zone_id == "Z0123456789ABCDEFGHIJ"  # the network team's


def test_names_are_compared_as_dns_compares_them(config_dir):
    edit(config_dir, "staging", dns(lambda d: d.update(record_name="Agent.Staging.Agents.Example.COM.")))
    assert load_environment("staging", config_dir).agent.dns.record_name == "agent.staging.agents.example.com"


def test_without_the_certificates_names_the_record_is_not_checked_offline(config_dir):
    """ACM alone knows what the certificate covers; config can only check what it is told (docs/config-checks.md)."""
    edit(
        config_dir,
        "staging",
        dns(lambda d: (d.pop("certificate_names"), d.update(record_name="a.b.staging.agents.example.com"))),
    )
    assert load_environment("staging", config_dir).agent.dns.certificate_names is None


@pytest.mark.parametrize(
    "name, host, covered",
    [
        ("agent.example.com", "agent.example.com", True),
        ("*.example.com", "agent.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.agent.example.com", False),
        ("*.example.com", "agent.example.org", False),
        ("agent.example.com", "agent2.example.com", False),
    ],
)
def test_certificate_coverage_is_acms_wildcard_rule(name, host, covered):
    assert certificate_covers(name, host) is covered


@pytest.mark.parametrize("request_timeout", [1, 60, 299, 900])
def test_keep_alive_is_derived_from_the_idle_timeout_and_above_it(config_dir, request_timeout):
    edit(config_dir, "staging", lambda a: a.setdefault("runtime", {}).update(request_timeout_seconds=request_timeout))
    agent = load_environment("staging", config_dir).agent
    assert (
        agent.load_balancer_idle_timeout_seconds == request_timeout + IDLE_TIMEOUT_MARGIN_SECONDS <= 4000
    )  # ALB's maximum
    assert agent.keep_alive_seconds == agent.load_balancer_idle_timeout_seconds + KEEP_ALIVE_MARGIN_SECONDS
    assert KEEP_ALIVE_MARGIN_SECONDS > 0


def test_a_deployed_fargate_task_serves_tls_with_the_derived_keep_alive():
    staging = load_environment("staging")
    deployed = runtime_environment(staging, mlflow_tracking_uri=None, session_bucket="s", caller_id_kms_key=KEY)
    assert (deployed["AGENT_KEEP_ALIVE_SECONDS"], deployed["AGENT_TLS"]) == ("95", "self_signed")
    assert staging.agent.load_balancer_idle_timeout_seconds == 90
    # Locally there is no load balancer (plain HTTP, uvicorn's default), and Lambda runs no server.
    local = runtime_environment(staging, mlflow_tracking_uri=None, session_dir="/tmp/sessions")
    dev = runtime_environment(
        load_environment("dev"), mlflow_tracking_uri=None, session_bucket="s", caller_id_kms_key=KEY
    )
    assert not {"AGENT_KEEP_ALIVE_SECONDS", "AGENT_TLS"} & (set(local) | set(dev))
