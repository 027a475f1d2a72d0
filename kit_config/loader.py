"""Load and validate `config/<env>.yaml` files into `EnvironmentConfig` objects.

Every mistake becomes one `ConfigError` whose message names the file and the field path, so
`app.py` can stop before the CDK app (and so `cdk.out/`) is touched.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from kit_config.identity_schema import CONFIG_DIR_CONTEXT
from kit_config.project import PROJECT_DIR
from kit_config.schema import EnvironmentConfig
from kit_config.strict_yaml import DuplicateKeyError, load_unique_keys
from kit_config.validation_errors import describe, display_path

DEFAULT_CONFIG_DIR = PROJECT_DIR / "config"
CONFIG_DIR_ENV_VAR = "KIT_CONFIG_DIR"


class ConfigError(Exception):
    """A configuration mistake, with a message meant for the person who made it."""


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_DIR_ENV_VAR) or DEFAULT_CONFIG_DIR)


PROMOTION_ORDER = ("dev", "staging", "prod")


def available_environments(directory: Path | None = None) -> list[str]:
    """Environment names from `<config dir>/*.yaml`, in promotion order (dev, staging, prod, others)."""
    directory = directory or config_dir()
    names = [path.stem for path in directory.glob("*.yaml")]
    return sorted(
        names, key=lambda name: (PROMOTION_ORDER.index(name) if name in PROMOTION_ORDER else len(PROMOTION_ORDER), name)
    )


def load_environment(name: str, directory: Path | None = None) -> EnvironmentConfig:
    directory = directory or config_dir()
    path = directory / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_environments(directory)) or "none"
        raise ConfigError(f"unknown environment {name!r}: no {path} (known environments: {known})")
    shown = display_path(path)
    try:
        # A key given twice is an error, not a silent override (kit_config.strict_yaml).
        data = load_unique_keys(path.read_text(encoding="utf-8"))
    except DuplicateKeyError as error:
        raise ConfigError(f"{shown}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{shown}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: expected a mapping of settings at the top level, got {type(data).__name__}")
    if "name" in data and data["name"] != name:
        raise ConfigError(f"{shown}: name: {data['name']!r} does not match the file name {name!r}")
    try:
        # Files the config names (agent.identity.jwt.jwks_file) are relative to the config file.
        return EnvironmentConfig.model_validate({**data, "name": name}, context={CONFIG_DIR_CONTEXT: path.parent})
    except ValidationError as error:
        raise ConfigError(
            describe(
                shown,
                error,
                what="setting(s)",
                hidden=_UNION_TAGS.__contains__,
                unknown_key_hint="check the spelling; see kit_config/schema.py for the allowed keys",
            )
        ) from None


def load_environments(names: list[str] | None = None, directory: Path | None = None) -> list[EnvironmentConfig]:
    """Load the named environments (default: every file in the config directory)."""
    names = names or available_environments(directory)
    if not names:
        raise ConfigError(f"no environment files (*.yaml) in {directory or config_dir()}")
    return [load_environment(name, directory) for name in names]


# Pydantic puts the discriminated-union tag (e.g. "create"/"existing", "lambda"/"fargate") into
# the location; the person editing YAML never wrote that segment, so it is hidden.
_UNION_TAGS = ("create", "existing", "tracking_server", "app", "lambda", "fargate")
