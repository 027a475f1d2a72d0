"""The LMI image URI is built from the sagemaker SDK's own table, without importing the SDK at synth,
and is exactly what the SDK's `image_uris.retrieve` returns."""

from __future__ import annotations

import subprocess
import sys

from kit_config.serving_image import _lmi_image_uri_from_table, lmi_image_uri, lmi_table


def test_the_table_resolves_as_the_sdk_does_in_every_region_and_for_every_version():
    """Every region for the newest version (the region -> registry mapping), every version in a
    commercial and a China region (the version -> tag mapping): the SDK's answer, 9x fewer calls
    than the full product (each `retrieve` costs ~0.1 s)."""
    from sagemaker.core import image_uris

    table = lmi_table()[2]
    versions = list(table["versions"])
    newest = max(versions, key=lambda v: tuple(int(part) for part in v.split(".") if part.isdigit()))
    pairs = {(region, newest) for region in table["versions"][newest]["registries"]}
    for version in versions:
        pairs |= {
            (region, version)
            for region in ("us-east-1", "cn-north-1")
            if region in table["versions"][version]["registries"]
        }
    compared = 0
    for region, version in sorted(pairs):
        expected = image_uris.retrieve(framework="djl-lmi", region=region, version=version)
        assert lmi_image_uri(region, version) == expected, (region, version)
        compared += _lmi_image_uri_from_table(region, version) is not None
    assert compared > len(pairs) / 2  # most of them without the SDK (China included); the rest through it
    assert _lmi_image_uri_from_table("cn-north-1", next(iter(table["versions"]))).endswith(
        tuple(f".amazonaws.com.cn/djl-inference:{e['tag_prefix']}" for e in table["versions"].values())
    )
    for alias in table.get("version_aliases") or {}:
        assert lmi_image_uri("us-east-1", alias) == image_uris.retrieve(
            framework="djl-lmi", region="us-east-1", version=alias
        )


def test_synth_time_lookup_does_not_import_the_sdk():
    code = (
        "import sys; from kit_config.serving_image import lmi_image_uri, lmi_versions; "
        "print(lmi_image_uri('eu-west-1', lmi_versions()[0])); "
        "assert not any(m == 'sagemaker' or m.startswith('sagemaker.') for m in sys.modules), 'SDK imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert ".dkr.ecr.eu-west-1.amazonaws.com/djl-inference:" in result.stdout


def test_an_unknown_version_fails_as_the_sdk_fails():
    import pytest

    with pytest.raises(ValueError, match="version"):
        lmi_image_uri("us-east-1", "0.0.1-not-a-version")
