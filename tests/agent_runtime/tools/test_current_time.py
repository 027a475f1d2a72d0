"""current_time: conversion against a frozen clock, DST, aliases, error strings."""

from __future__ import annotations

import importlib
import zoneinfo
from datetime import UTC, datetime

import pytest

mod = importlib.import_module("agent_runtime.tools.current_time")
current_time = mod.current_time


@pytest.fixture
def freeze(monkeypatch):
    def set_clock(iso_utc: str) -> None:
        monkeypatch.setattr(mod, "_now_utc", lambda: datetime.fromisoformat(iso_utc))

    return set_clock


@pytest.mark.parametrize(
    ("now", "zone", "iso", "abbr", "weekday"),
    [
        ("2024-07-01T12:00:00+00:00", "UTC", "2024-07-01T12:00:00+00:00", "UTC", "Monday"),
        ("2024-07-01T12:00:00+00:00", "Europe/London", "2024-07-01T13:00:00+01:00", "BST", "Monday"),
        ("2024-07-01T12:00:00+00:00", "America/New_York", "2024-07-01T08:00:00-04:00", "EDT", "Monday"),
        ("2024-01-15T12:00:00+00:00", "America/New_York", "2024-01-15T07:00:00-05:00", "EST", "Monday"),
        ("2024-07-01T12:00:00+00:00", "Asia/Kolkata", "2024-07-01T17:30:00+05:30", "IST", "Monday"),
        ("2024-07-01T20:00:00+00:00", "Asia/Tokyo", "2024-07-02T05:00:00+09:00", "JST", "Tuesday"),
        ("2024-07-01T02:00:00+00:00", "America/Los_Angeles", "2024-06-30T19:00:00-07:00", "PDT", "Sunday"),
        # Europe/London springs forward at 01:00 UTC on 2024-03-31.
        ("2024-03-31T00:59:59+00:00", "Europe/London", "2024-03-31T00:59:59+00:00", "GMT", "Sunday"),
        ("2024-03-31T01:00:00+00:00", "Europe/London", "2024-03-31T02:00:00+01:00", "BST", "Sunday"),
    ],
)
def test_conversion_against_a_fixed_clock(freeze, now, zone, iso, abbr, weekday):
    freeze(now)
    assert current_time(zone) == {
        "timezone": zone,
        "iso8601": iso,
        "utc_offset": iso[-6:],
        "abbreviation": abbr,
        "weekday": weekday,
    }


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("", "UTC"),
        ("  ", "UTC"),
        ("utc", "UTC"),
        ("Z", "UTC"),
        ("GMT", "UTC"),
        ("europe/london", "Europe/London"),
        (" Asia/Tokyo ", "Asia/Tokyo"),
    ],
)
def test_aliases_blank_and_case_are_forgiven(freeze, given, key):
    freeze("2024-07-01T12:00:00+00:00")
    assert current_time(given)["timezone"] == key


def test_default_is_utc(freeze):
    freeze("2024-07-01T12:00:00+00:00")
    assert current_time()["iso8601"] == "2024-07-01T12:00:00+00:00"


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "Europe/", "EST5EDT/x"])
def test_unknown_zone_is_an_error_string_not_an_exception(bad):
    out = current_time(bad)
    assert isinstance(out, str) and out.startswith("Error: unknown time zone")
    assert repr(bad.strip()) in out


def test_typo_suggests_close_zones():
    assert "Did you mean: Europe/Paris" in current_time("Europe/Pari")


def test_utc_works_without_a_tz_database(monkeypatch, freeze):
    def no_db(key):
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(mod.zoneinfo, "ZoneInfo", no_db)
    freeze("2024-07-01T12:00:00+00:00")
    assert current_time("UTC")["iso8601"] == "2024-07-01T12:00:00+00:00"


def test_real_clock_is_used_by_default():
    got = datetime.fromisoformat(current_time("Europe/Berlin")["iso8601"])
    assert abs((got - datetime.now(UTC)).total_seconds()) < 5
