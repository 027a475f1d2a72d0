"""Which rules each built-in cdk-nag pack evaluates, read from the installed cdk-nag package.

cdk-nag 3 exposes no rule list (`NagPack.rule_ids` is empty), yet a compliance report must say
what was checked. Every pack applies every one of its rules to every resource, so the rule set
is exactly the `applyRule({...})` calls in the pack's compiled source, which ships inside the
jsii bundle of the pinned version.
"""

from __future__ import annotations

import functools
import re
import tarfile
from pathlib import Path

import cdk_nag

_PACK_FILES = {
    "AwsSolutions": "aws-solutions.js",
    "HIPAA.Security": "hipaa-security.js",
    "NIST.800.53.R5": "nist-800-53-r5.js",
}
_SUFFIX = re.compile(r"ruleSuffixOverride:\s*'([^']+)'")
_RULE_FUNCTION = re.compile(r"\brule:\s*[\w$]+\.(\w+)")


def _bundle() -> Path:
    return next((Path(cdk_nag.__file__).parent / "_jsii").glob("cdk-nag@*.jsii.tgz"))


def cdk_nag_version() -> str:
    return _bundle().name.removeprefix("cdk-nag@").removesuffix(".jsii.tgz")


@functools.cache
def builtin_rule_ids(pack_name: str) -> tuple[str, ...]:
    with tarfile.open(_bundle()) as archive:
        source = archive.extractfile(f"package/lib/packs/{_PACK_FILES[pack_name]}").read().decode()
    rule_ids = []
    for call in source.split("this.applyRule({")[1:]:
        body = call.split("});", 1)[0]
        suffix = _SUFFIX.search(body) or _RULE_FUNCTION.search(body)
        if suffix is None:
            raise ValueError(f"cannot read a rule id from {pack_name}: {body[:200]}")
        rule_ids.append(f"{pack_name}-{suffix.group(1)}")
    return tuple(dict.fromkeys(rule_ids))
