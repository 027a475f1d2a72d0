"""Scheduled scaling: expressions, time zones and names as Application Auto Scaling accepts them."""

from __future__ import annotations

from functools import partial

import pytest

from kit_config import load_environment
from kit_config.schedule_expressions import validate_schedule
from tests.kit_config.conftest import assert_rejected
from tests.kit_config.conftest import edit as edit_env

edit = partial(edit_env, section="inference")
SCHEDULED = "inference.variants[0].autoscaling.scheduled"


def scheduled(section: dict, index: int = 0) -> dict:
    return section["variants"][0]["autoscaling"]["scheduled"][index]


def _nights_at_minimum(section: dict) -> None:
    """Dev as a variant serving its own model, at one instance on weekday nights (dev itself now scales to zero)."""
    variant = section["variants"][0]
    del variant["inference_component"]
    variant["autoscaling"].update(
        min_instances=1,
        scheduled=[
            {"name": "nights-at-minimum", "schedule": "cron(0 20 ? * MON-FRI *)", "min_instances": 1,
             "max_instances": 1, "timezone": "America/New_York"},
            {"name": "mornings-restore", "schedule": "cron(0 7 ? * MON-FRI *)", "min_instances": 1,
             "max_instances": 2, "timezone": "America/New_York"},
        ],
    )  # fmt: skip


@pytest.fixture
def config_dir(config_dir):
    edit(config_dir, "dev", _nights_at_minimum)
    return config_dir


VALID = [
    "cron(0 20 ? * MON-FRI *)",
    "cron(30 6 ? * MON *)",
    "cron(0 10 * * ? *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * ? * MON-FRI *)",
    "cron(*/5 8-17 ? * MON-FRI *)",
    "cron(0 9 ? * 2#1 *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 3W * ? *)",
    "cron(0 0 ? * 6L *)",
    "cron(0 0 ? JUL,DEC WED *)",
    "cron(0 22 ? * FRI-MON 2030-2031)",
    "cron(0 12 * DEC ? 2030)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "at(2030-03-31T22:00:00)",
]


@pytest.mark.parametrize("expression", VALID)
def test_documented_forms_are_accepted(expression):
    assert validate_schedule(expression) == expression


INVALID = {
    "five fields (Unix cron)": ("cron(0 20 * * MON-FRI)", "needs 6 fields"),
    "neither day field is ?": (
        "cron(0 20 * * MON-FRI *)",
        "exactly one of day-of-month and day-of-week must be ?; neither is",
    ),
    "both day fields are ?": ("cron(0 20 ? * ? *)", "both are"),
    "minute 60": ("cron(60 20 ? * MON *)", "minutes: 60 is outside 0-59"),
    "hour 24": ("cron(0 24 ? * MON *)", "hours: 24 is outside 0-23"),
    "day 32": ("cron(0 0 32 * ? *)", "day-of-month: 32 is outside 1-31"),
    "month 13": ("cron(0 0 ? 13 MON *)", "month: 13 is outside 1-12"),
    "weekday 0 (Unix Sunday)": ("cron(0 0 ? * 0 *)", "day-of-week: 0 is outside 1-7"),
    "lower-case day name": ("cron(0 0 ? * mon *)", "'mon' is not a number or one of SUN-SAT"),
    "year before 1970": ("cron(0 0 ? * MON 1969)", "year: 1969 is outside 1970-2199"),
    "backwards year range": ("cron(0 0 ? * MON 2031-2030)", "the range 2031-2030 runs backwards"),
    "# outside day-of-week": ("cron(0 0 1#2 * ? *)", "# is allowed only in day-of-week"),
    "# with a list": ("cron(0 0 ? * 3#1,4#2 *)", "with #, the field holds one expression only"),
    "sixth week of the month": ("cron(0 0 ? * 3#6 *)", "the week of the month after # must be 1-5"),
    "L in hours": ("cron(0 L ? * MON *)", "L is allowed only in day-of-month and day-of-week"),
    "increment in day-of-week": ("cron(0 0 ? * MON/2 *)", "/ (increments) is not allowed in this field"),
    "zero increment": ("cron(0/0 * ? * MON *)", "the increment in '0/0' must be a whole number from 1 to 59"),
    "double space": ("cron(0  20 ? * MON *)", "separate the fields by single spaces"),
    "plural unit for 1": ("rate(1 minutes)", "write rate(1 minute) (singular for 1, plural otherwise)"),
    "singular unit for 5": ("rate(5 minute)", "write rate(5 minutes)"),
    "zero rate": ("rate(0 minutes)", "the value must be a positive integer"),
    "weeks": ("rate(2 weeks)", "'weeks' is not a unit; use minute(s), hour(s) or day(s)"),
    "impossible date": ("at(2030-02-30T00:00:00)", "is not a real date and time"),
    "single-digit month": ("at(2030-3-31T22:00:00)", "write the moment as yyyy-mm-ddThh:mm:ss"),
    "not an expression": ("every weekday at 8", "is not a schedule expression"),
}


@pytest.mark.parametrize("expression, words", INVALID.values(), ids=INVALID.keys())
def test_invalid_expressions_say_what_is_wrong(expression, words):
    with pytest.raises(ValueError) as error:
        validate_schedule(expression)
    assert words in str(error.value), str(error.value)


BAD_CONFIG = {
    "Unix cron in config": (
        lambda s: scheduled(s).update(schedule="cron(0 20 * * 1-5)"),
        f"{SCHEDULED}[0].schedule",
        "needs 6 fields",
    ),
    "rate unit in config": (
        lambda s: scheduled(s).update(schedule="rate(1 hours)"),
        f"{SCHEDULED}[0].schedule",
        "write rate(1 hour)",
    ),
    "time zone that is not IANA": (
        lambda s: scheduled(s).update(timezone="EST5EDT-ish"),
        f"{SCHEDULED}[0].timezone",
        "is not an IANA time zone name",
    ),
    "time zone without its area": (
        lambda s: scheduled(s).update(timezone="New_York"),
        f"{SCHEDULED}[0].timezone",
        "did you mean America/New_York",
    ),
    "name with a colon": (
        lambda s: scheduled(s).update(name="nights:minimum"),
        f"{SCHEDULED}[0].name",
        "without leading or trailing spaces, control characters, ':', '/' or '|'",
    ),
    "name too long": (lambda s: scheduled(s).update(name="n" * 257), f"{SCHEDULED}[0].name", "1-256 characters"),
    "duplicate names": (
        lambda s: scheduled(s, 1).update(name="nights-at-minimum"),
        f"{SCHEDULED}[1].name",
        "'nights-at-minimum' is already the name of another scheduled action",
    ),
    "scheduled min above max": (
        lambda s: scheduled(s).update(min_instances=2, max_instances=1),
        f"{SCHEDULED}[0]",
        "min_instances (2) is greater than max_instances (1)",
    ),
    "scheduled max above autoscaling max": (
        lambda s: scheduled(s, 1).update(max_instances=3),
        f"{SCHEDULED}[1].max_instances",
        "3 is above autoscaling max_instances (2)",
    ),
}


@pytest.mark.parametrize("change, field, words", BAD_CONFIG.values(), ids=BAD_CONFIG.keys())
def test_bad_scheduled_actions_name_file_and_field(config_dir, change, field, words):
    edit(config_dir, "dev", change)
    assert_rejected(config_dir, "dev", field, words)


def test_names_aws_allows_beyond_letters_and_digits_load(config_dir):
    edit(config_dir, "dev", lambda s: scheduled(s).update(name="Nights at minimum (weekdays)", timezone="Etc/GMT+9"))
    action = load_environment("dev", config_dir).inference.variants[0].autoscaling.scheduled[0]
    assert (action.name, action.timezone) == ("Nights at minimum (weekdays)", "Etc/GMT+9")


def test_a_machine_without_a_time_zone_database_says_so(config_dir, monkeypatch):
    import kit_config.inference_schema as schema

    monkeypatch.setattr(schema, "_time_zones", lambda: frozenset())
    assert_rejected(config_dir, "dev", f"{SCHEDULED}[0].timezone", "no IANA time-zone database on this machine")
