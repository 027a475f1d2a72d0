"""AWS partitions and their regions, as botocore knows them: which regions exist, and which
partition (`aws`, `aws-cn`, `aws-us-gov`, ...) each belongs to.

The data is botocore's `botocore/data/partitions.json`: the table botocore's endpoint rules
resolve every client's host from (the `aws.partition` function of each service's
`endpoint-rule-set-1.json`), so a region it does not list is one no boto3 client of this
install can be pointed at. The file is read directly from the installed distribution, without
importing botocore: `python -m kit_config` and the synth stay free of botocore's import (measured:
`import botocore.loaders` ~60-130 ms; this read ~2 ms). A test checks the result equals
`botocore.loaders.Loader().load_data("partitions")`.

botocore's release lags a region launch by at most days; a region missing here means the pinned
botocore (requirements.txt) is older than the region: bump it.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

BOTOCORE_DISTRIBUTION = "botocore"
PARTITIONS_DATA = "botocore/data/partitions.json"
# botocore's loader also reads gzipped data files (botocore.loaders._JSON_OPEN_METHODS).
_DATA_SUFFIXES = ("", ".gz")
# Pseudo-regions for global endpoints (`aws-global`, `aws-cn-global`): not a place to deploy.
_GLOBAL_PSEUDO_REGION = re.compile(r"^aws(-[a-z-]+)?-global$")


@dataclass(frozen=True)
class Partition:
    name: str  # the ARN partition: arn:<name>:...
    dns_suffix: str  # amazonaws.com, amazonaws.com.cn, ...
    regions: tuple[str, ...]


class PartitionDataUnavailable(ValueError):
    """botocore (and so its partition table) is not installed: a ValueError, so config load reports it
    on the `region` field like any other problem rather than as a traceback."""


@lru_cache(maxsize=1)
def botocore_partitions() -> tuple[str, tuple[Partition, ...]]:
    """(botocore version, partitions) from the installed botocore's partitions.json."""
    try:
        distribution = metadata.distribution(BOTOCORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise PartitionDataUnavailable(
            f"{BOTOCORE_DISTRIBUTION} is not installed (pip install -r requirements.txt)"
        ) from None
    for suffix in _DATA_SUFFIXES:
        path = Path(distribution.locate_file(PARTITIONS_DATA + suffix))
        if path.is_file():
            raw = path.read_bytes()
            data = json.loads(gzip.decompress(raw) if suffix == ".gz" else raw)
            break
    else:
        raise PartitionDataUnavailable(f"{BOTOCORE_DISTRIBUTION} {distribution.version} has no {PARTITIONS_DATA}")
    partitions = tuple(
        Partition(
            name=entry["outputs"]["name"],
            dns_suffix=entry["outputs"]["dnsSuffix"],
            regions=tuple(sorted(r for r in entry["regions"] if not _GLOBAL_PSEUDO_REGION.match(r))),
        )
        for entry in data["partitions"]
    )
    return distribution.version, partitions


def partition_of(region: str) -> Partition | None:
    """The partition that lists `region`, or None for a region botocore does not know."""
    return next((p for p in botocore_partitions()[1] if region in p.regions), None)


def region_problem(region: str) -> str | None:
    """Why `region` is not a region to deploy to, or None."""
    if partition_of(region) is not None:
        return None
    version, partitions = botocore_partitions()
    # The regions a typo most likely meant: those sharing its first word (us-, eu-, cn-, ...).
    prefix = region.split("-")[0]
    near = [r for p in partitions for r in p.regions if r.split("-")[0] == prefix] or list(partitions[0].regions)
    return (
        f"{region!r} is not an AWS region botocore {version} knows (its partitions.json lists {', '.join(near)}"
        f"{'' if prefix in {r.split('-')[0] for r in near} else ', ...'}); check the spelling, or bump botocore "
        "in requirements.txt if the region is newer than it"
    )


# An AZ name is the region's name and one letter (us-east-1a). An AZ ID (use1-az1) names the same
# physical zone in every account, while the letter-to-zone mapping differs per account
# ("Availability Zone IDs for your AWS resources", https://docs.aws.amazon.com/ram/latest/userguide/working-with-az-ids.html);
# CDK's Vpc and CfnSubnet take names, so config does too.
_AZ_ID = re.compile(r"^[a-z]{2,}[0-9]+-az[0-9]+$")


def zone_problems(region: str, zones: list[str]) -> list[tuple[int, str]]:
    """(index, why) for each zone in `zones` that is not an Availability Zone name of `region`, or repeats one.

    Two subnets in one zone give no zone redundancy, and an Application Load Balancer refuses them
    ("You can specify only one subnet per Availability Zone", CreateLoadBalancer Subnets,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html).
    Which letters a region has (us-east-1 a-f, us-west-1 two of a-c per account) is not in any
    offline data: `make preflight` checks the zones with DescribeAvailabilityZones.
    """
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for index, zone in enumerate(zones):
        if _AZ_ID.match(zone):
            problems.append(
                (
                    index,
                    f"{zone!r} is an Availability Zone ID; give the zone's name ({region}a, {region}b, ...): "
                    f"`aws ec2 describe-availability-zones --region {region}` maps IDs to this account's names",
                )
            )
        elif not re.fullmatch(re.escape(region) + r"[a-z]", zone):
            problems.append(
                (index, f"availability zone {zone!r} is not in region {region} (expected {region}<letter>)")
            )
        elif zone in seen:
            problems.append(
                (
                    index,
                    f"{zone} is listed twice (also at [{seen[zone]}]): each subnet must be in another zone, "
                    "and a load balancer takes one subnet per zone",
                )
            )
        seen.setdefault(zone, index)
    return problems
