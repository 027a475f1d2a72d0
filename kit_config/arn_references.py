"""Every ARN in a loaded config, checked against the environment it deploys to.

A field holds an ARN when it is declared with `kit_config.field_types.aws_arn(ArnScope(...))`
(directly, optional, or in a list). `arn_problems` walks the validated config, finds each such
value and checks what the ARN's own segments say against the environment:

- partition: `arn:aws-cn:...` in a `us-east-1` environment names nothing the deployment can reach
  (ARN format, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html; the region's
  partition comes from botocore's partitions.json, kit_config.aws_partitions);
- region: a regional resource must be in the environment's region when the scope says so;
- account: the same for the account, when the scope says so.

Each problem is located at the field's path, so the message reads `agent.certificate_arn: ...`.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kit_config.aws_partitions import partition_of
from kit_config.field_types import ArnScope


def arn_scope_of(field: FieldInfo) -> ArnScope | None:
    """The ArnScope a field was declared with, at its top level or inside Optional/list."""
    for item in field.metadata:
        if isinstance(item, ArnScope):
            return item
    return _scope_in(field.annotation)


def _scope_in(annotation: object) -> ArnScope | None:
    for item in getattr(annotation, "__metadata__", ()):
        if isinstance(item, ArnScope):
            return item
    for argument in typing.get_args(annotation):
        if (found := _scope_in(argument)) is not None:
            return found
    return None


def arn_values(model: BaseModel, loc: tuple = ()) -> Iterator[tuple[tuple, str, ArnScope]]:
    """(location, ARN, scope) for every ARN-typed value in `model` and the models inside it."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        scope = arn_scope_of(field)
        yield from _values(value, (*loc, name), scope)


def _values(value: object, loc: tuple, scope: ArnScope | None) -> Iterator[tuple[tuple, str, ArnScope]]:
    if isinstance(value, BaseModel):
        yield from arn_values(value, loc)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _values(item, (*loc, index), scope)
    elif isinstance(value, str) and scope is not None:
        yield loc, value, scope


def arn_problems(model: BaseModel, *, account: str, region: str) -> list[tuple[tuple, str]]:
    """(location, why) for every ARN in `model` outside the environment's partition, region or account."""
    partition = partition_of(region)
    problems = []
    for loc, arn, scope in arn_values(model):
        # arn:partition:service:region:account:resource (the pattern already held when this runs)
        _, arn_partition, _, arn_region, arn_account, _ = arn.split(":", 5)
        found = []
        if partition is not None and arn_partition != partition.name:
            found.append(f"partition {arn_partition} is not {partition.name}, the partition of {region}")
        if scope.regional and arn_region != region:
            found.append(f"region {arn_region} is not this environment's region {region}")
        if scope.same_account and arn_account != account:
            found.append(f"account {arn_account} is not this environment's account {account}")
        if found:
            problems.append((loc, f"{arn}: {'; '.join(found)}: {scope.why}"))
    return problems
