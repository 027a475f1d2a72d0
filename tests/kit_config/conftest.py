"""A private copy of the shipped config directory per test, and a helper to edit one env file."""

from __future__ import annotations

import shutil
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from kit_config import ConfigError, load_environment
from kit_config.project import PROJECT_DIR

CONFIG_DIR = PROJECT_DIR / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    return directory


def edit(directory: Path, env: str, change, section: str | None = None) -> None:
    """Apply `change` to the parsed `<env>.yaml` (or to one of its sections) and write it back."""
    path = directory / f"{env}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data[section] if section else data)
    path.write_text(yaml.safe_dump(data))


def assert_rejected(directory: Path, env: str, field: str, words: str) -> None:
    """Loading `<env>.yaml` fails with one message naming the file, the field path and `words`."""
    with pytest.raises(ConfigError) as error:
        load_environment(env, directory)
    message = str(error.value)
    assert f"{env}.yaml: {field}: " in message, message
    assert words in message, message


def config_models(model: type[BaseModel], seen: set | None = None):
    """`model` and every config model reachable from its fields (through unions, lists, Optional)."""
    seen = set() if seen is None else seen
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                yield from config_models(annotation, seen)
            stack.extend(typing.get_args(annotation))
