"""One way to report a pydantic ValidationError of a YAML file: each problem on its own line as
`<file>: <field path>: <message>`, the path written as the person editing YAML sees it
(`inference.variants[0].instance_type`). Used for env config, evaluation sets and prompt sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import ValidationError


def field_path(loc: Iterable, hidden: Callable[[object], bool] = lambda part: False) -> str:
    """Dotted keys, list indexes in brackets; `hidden` drops segments the YAML never contains
    (pydantic adds discriminated-union tags and union member types to the location)."""
    parts = [part for part in loc if not hidden(part)]
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".") or "(top level)"


def describe(
    shown: str,
    error: ValidationError,
    *,
    unknown_key_hint: str,
    what: str = "field(s)",
    hidden: Callable[[object], bool] = lambda part: False,
) -> str:
    lines = [f"{shown}: {error.error_count()} invalid {what}"]
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown key ({unknown_key_hint})"
        elif item["type"] == "missing":
            message = "required key is missing"
        lines.append(f"  {shown}: {field_path(item['loc'], hidden)}: {message}")
    return "\n".join(lines)


def errors_at(title: str, problems: list[tuple[tuple, str]]) -> ValidationError:
    """A ValidationError whose problems sit at `loc`s below the model raising it.

    A model validator that checks several fields together (the image against each variant's
    host driver, say) raises this so the message lands on the field to change
    (`inference.variants[1].inference_ami_version`), not on the whole section; pydantic prefixes
    the enclosing model's location.
    """
    from pydantic_core import InitErrorDetails, PydanticCustomError

    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=loc, input=None
            )
            for loc, message in problems
        ],
    )


def display_path(path: Path) -> str:
    """`path` as the person running `make` sees it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
