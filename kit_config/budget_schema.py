"""The `budget:` section of an environment: an AWS Budgets monthly cost budget and its alerts.

Part of the one `EnvironmentConfig` schema; split out only to keep modules to one concern. The
budget is filtered by the environment's `Project` and `Environment` cost-allocation tags.
"""

from __future__ import annotations

import itertools

from pydantic import Field, field_validator, model_validator

from kit_config.config_section import ConfigSection
from kit_config.field_types import EmailAddress

# AWS Budgets quotas: 5 notifications per budget, 10 email subscribers per notification.
MAX_NOTIFICATIONS_PER_BUDGET = 5
MAX_EMAIL_SUBSCRIBERS = 10


class BudgetConfig(ConfigSection):
    monthly_limit_usd: float = Field(gt=0, description="Monthly cost limit in USD (compare with `make cost`)")
    alert_thresholds_percent: list[float] = Field(
        default=[80.0, 100.0], min_length=1, description="Alert when actual cost passes these % of the limit"
    )
    forecast_alert_percent: float | None = Field(
        default=100.0, description="Alert when forecast cost passes this % of the limit; null for no forecast alert"
    )
    emails: list[EmailAddress] | None = Field(
        default=None, description="Addresses Budgets emails directly; default: alarms.email_subscriptions"
    )
    notify_alarm_topic: bool = Field(
        default=False, description="Also publish to the environment's KMS-encrypted alarm topic"
    )

    @field_validator("alert_thresholds_percent")
    @classmethod
    def _increasing_percentages(cls, thresholds: list[float]) -> list[float]:
        for threshold in thresholds:
            _check_percent(threshold)
        if any(later <= earlier for earlier, later in itertools.pairwise(thresholds)):
            raise ValueError(f"{thresholds} must be strictly increasing (each threshold alerts once)")
        return thresholds

    @field_validator("forecast_alert_percent")
    @classmethod
    def _valid_forecast(cls, threshold: float | None) -> float | None:
        return None if threshold is None else _check_percent(threshold)

    @field_validator("emails")
    @classmethod
    def _within_subscriber_quota(cls, emails: list[str] | None) -> list[str] | None:
        if emails is not None and len(emails) > MAX_EMAIL_SUBSCRIBERS:
            raise ValueError(f"{len(emails)} addresses; AWS Budgets accepts at most {MAX_EMAIL_SUBSCRIBERS} per alert")
        return emails

    @model_validator(mode="after")
    def _within_notification_quota(self) -> BudgetConfig:
        count = len(self.alert_thresholds_percent) + (self.forecast_alert_percent is not None)
        if count > MAX_NOTIFICATIONS_PER_BUDGET:
            raise ValueError(
                f"{count} alerts (actual thresholds plus forecast); AWS Budgets allows at most "
                f"{MAX_NOTIFICATIONS_PER_BUDGET} per budget"
            )
        return self

    def recipients(self, alarm_emails: list[str]) -> list[str]:
        """The addresses Budgets emails: `emails`, or the alarm subscribers when `emails` is unset."""
        return list(alarm_emails if self.emails is None else self.emails)


def _check_percent(value: float) -> float:
    if not 0 < value <= 1000:
        raise ValueError(f"{value:g} is not a percentage of the limit between 0 (exclusive) and 1000")
    return value
