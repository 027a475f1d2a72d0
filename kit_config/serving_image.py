"""The serving image's tag and region, known at config load, for the checks that depend on them.

The default image is the LMI (DJL) container of `inference.lmi_version`. Its URI is what the
sagemaker SDK's `image_uris.retrieve(framework="djl-lmi", region=..., version=...)` returns, which
reads the table `sagemaker/core/image_uri_config/djl-lmi.json` shipped in the `sagemaker-core`
wheel pinned in requirements.txt. That table is read here as a file, without importing the SDK
(≈ 3.5 s of import at every synth): a version the SDK does not know fails at config load rather
than at synth, the tag's CUDA (`...-cu130`) can be checked against the hosts' drivers, and
`lmi_image_uri` builds the URI from the table for the plain table entries and regions of the
`aws` and `aws-cn` partitions, and asks the SDK itself for anything else
(tests/kit_config/test_serving_image.py checks every version and region of the table against
the SDK).

The tag of a version is the same in every region; only the registry account changes. Whether the
tag exists in ECR is not checkable offline; an operator confirms it with
`aws ecr describe-images --registry-id 763104351884 --repository-name djl-inference
--image-ids imageTag=<tag> --region <region>` (763104351884 is the registry of most commercial
regions; the table lists the others).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import metadata
from pathlib import Path

SDK_DISTRIBUTION = "sagemaker-core"
LMI_TABLE = "sagemaker/core/image_uri_config/djl-lmi.json"

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_IMAGE = re.compile(
    r"^\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repository>[^:@]+)"
    r"(?::(?P<tag>[\w.-]+)|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


class LmiTableUnavailable(Exception):
    """The sagemaker-core wheel (and so the LMI tag table) is not installed."""


def image_region(image_uri: str) -> str | None:
    found = _IMAGE.match(image_uri)
    return found["region"] if found else None


def image_tag(image_uri: str) -> str | None:
    """The tag, or None for an image pinned by digest (no tag to read a CUDA version from)."""
    found = _IMAGE.match(image_uri)
    return found["tag"] if found else None


@lru_cache(maxsize=1)
def lmi_table() -> tuple[Path, str, dict]:
    """(path, sagemaker-core version, parsed table) of the SDK's djl-lmi image table."""
    try:
        distribution = metadata.distribution(SDK_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise LmiTableUnavailable(f"{SDK_DISTRIBUTION} is not installed (pip install -r requirements.txt)") from None
    path = Path(distribution.locate_file(LMI_TABLE))
    if not path.is_file():
        raise LmiTableUnavailable(f"{SDK_DISTRIBUTION} {distribution.version} has no {LMI_TABLE}")
    return path, distribution.version, json.loads(path.read_text(encoding="utf-8"))


def lmi_versions() -> list[str]:
    return list(lmi_table()[2]["versions"])


# What `image_uris.retrieve` adds to the table entry for the partitions the fast path covers
# (ECR's hostname is botocore's `ecr.<region>.amazonaws.com[.cn]`); other partitions ask the SDK.
_ECR_HOSTNAME_SUFFIX = {"cn-": "amazonaws.com.cn"}
_PLAIN_ENTRY_KEYS = {"registries", "repository", "tag_prefix"}


def lmi_image_uri(region: str, version: str) -> str:
    """The AWS LMI (DJL) serving image of `version` in `region`, as the sagemaker SDK resolves it."""
    uri = _lmi_image_uri_from_table(region, version)
    if uri is not None:
        return uri
    from sagemaker.core import image_uris  # a heavy import: only for what the table path does not cover

    return image_uris.retrieve(framework="djl-lmi", region=region, version=version)


def _lmi_image_uri_from_table(region: str, version: str) -> str | None:
    try:
        table = lmi_table()[2]
    except LmiTableUnavailable:
        return None
    versions = table.get("versions") or {}
    version = (table.get("version_aliases") or {}).get(version, version)
    entry = versions.get(version)
    if len(versions) == 1 or entry is None or set(entry) != _PLAIN_ENTRY_KEYS or region not in entry["registries"]:
        return None  # the SDK's own rules (single-version defaulting, processors, errors) apply
    if region.startswith(("us-gov-", "us-iso", "eu-isoe-")) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        return None
    suffix = next((s for prefix, s in _ECR_HOSTNAME_SUFFIX.items() if region.startswith(prefix)), "amazonaws.com")
    return f"{entry['registries'][region]}.dkr.ecr.{region}.{suffix}/{entry['repository']}:{entry['tag_prefix']}"


def lmi_image_tag(version: str) -> str | None:
    """The image tag the SDK resolves `version` to (e.g. 0.38.0 -> 0.38.0-lmi29.0.0-cu130); None if unknown."""
    entry = lmi_table()[2]["versions"].get(version)
    return entry["tag_prefix"] if entry else None
