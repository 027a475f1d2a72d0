"""What the kit's rules require of one environment, derived from its config."""

from __future__ import annotations

from dataclasses import dataclass

from kit_config import EnvironmentConfig
from kit_config.schema import REQUIRED_TAG_KEYS


@dataclass(frozen=True)
class GovernancePolicy:
    required_tag_keys: tuple[str, ...] = REQUIRED_TAG_KEYS
    min_log_retention_days: int = 365

    @classmethod
    def for_environment(cls, config: EnvironmentConfig) -> GovernancePolicy:
        return cls(required_tag_keys=REQUIRED_TAG_KEYS, min_log_retention_days=config.log_retention_days)
