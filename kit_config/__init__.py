"""Environment configuration: one pydantic schema, one YAML file per environment."""

from kit_config.loader import ConfigError, available_environments, load_environment, load_environments
from kit_config.schema import EnvironmentConfig

__all__ = [
    "ConfigError",
    "EnvironmentConfig",
    "available_environments",
    "load_environment",
    "load_environments",
]
