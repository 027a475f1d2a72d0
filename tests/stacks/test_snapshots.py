"""One syrupy snapshot per stack per environment; volatile values are masked.

Asset hashes change with CDK releases and unrelated files, not with the infrastructure, so they
are replaced by a placeholder: a snapshot diff means the deployed resources would differ.
Update deliberately with `.venv/bin/python -m pytest tests/stacks --snapshot-update`.
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.helpers import ENVIRONMENTS, STACKS

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict) -> dict:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_template_snapshot(synthesized, snapshot_json, env, stack):
    assert masked(synthesized.templates[(env, stack)]) == snapshot_json


def test_masking_hides_only_asset_hashes(synthesized):
    template = masked(synthesized.templates[("dev", "Network")])
    handler = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    assert handler["Properties"]["Code"]["S3Key"] == "<asset-hash>.zip"  # default-SG custom resource code
    assert not ASSET_HASH.search(json.dumps(template))
    assert template["Resources"].keys() == synthesized.templates[("dev", "Network")]["Resources"].keys()
