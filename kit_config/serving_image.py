"""The serving image's tag and region, known at config load, for the checks that depend on them.

The default image is the LMI (DJL) container of `inference.lmi_version`. Synth resolves its URI
with the sagemaker SDK (`kit_constructs.inference_endpoint.lmi_image_uri`: `image_uris.retrieve(
framework="djl-lmi", ...)`), which reads the table `sagemaker/core/image_uri_config/djl-lmi.json`
shipped in the `sagemaker-core` wheel pinned in requirements.txt. The same table is read here —
as a file, without importing the SDK — so a version the SDK does not know fails at config load
rather than at synth, and the tag's CUDA (`...-cu130`) can be checked against the hosts' drivers.

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


def lmi_image_tag(version: str) -> str | None:
    """The image tag the SDK resolves `version` to (e.g. 0.38.0 -> 0.38.0-lmi29.0.0-cu130); None if unknown."""
    entry = lmi_table()[2]["versions"].get(version)
    return entry["tag_prefix"] if entry else None
