"""The `network:` section: endpoints an existing VPC already has are declared, with a way to reach them."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="network")


def test_existing_endpoints_load(config_dir):
    edit(
        config_dir,
        "prod",
        lambda n: n.update(
            existing_endpoints={
                "services": ["sts", "logs"],
                "security_group_ids": ["sg-0123456789abcdef0"],
                "s3_gateway": True,
            }
        ),
    )
    existing = load_environment("prod", config_dir).network.existing_endpoints
    assert existing.services == ["sts", "logs"] and existing.s3_gateway is True


@pytest.mark.parametrize(
    "existing, field, words",
    [
        ({"services": ["sts"]}, "network.existing_endpoints", "set security_group_ids"),
        (
            {"services": ["sts", "sts"], "security_group_ids": ["sg-0123456789abcdef0"]},
            "network.existing_endpoints",
            "lists a service twice",
        ),
        (
            {"services": ["s3"], "security_group_ids": ["sg-0123456789abcdef0"]},
            "network.existing_endpoints.services[0]",
            "Input should be",
        ),
    ],
)
def test_existing_endpoints_mistakes_are_rejected(config_dir, existing, field, words):
    edit(config_dir, "prod", lambda n: n.update(existing_endpoints=existing))
    assert_rejected(config_dir, "prod", field, words)


def test_a_created_vpc_has_no_existing_endpoints(config_dir):
    edit(config_dir, "dev", lambda n: n.update(existing_endpoints={"s3_gateway": True}))
    assert_rejected(config_dir, "dev", "network.existing_endpoints", "unknown key")
