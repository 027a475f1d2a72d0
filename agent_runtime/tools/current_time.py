"""current_time tool: the current date and time in an IANA time zone."""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from datetime import UTC, datetime, tzinfo

from strands import tool

_ALIASES = {"utc": "UTC", "z": "UTC", "gmt": "UTC", "zulu": "UTC"}


def _now_utc() -> datetime:
    """The clock (a seam for tests: monkeypatch this to freeze time)."""
    return datetime.now(UTC)


@functools.lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _resolve_zone(name: str) -> tuple[str, tzinfo] | None:
    key = _ALIASES.get(name.lower(), name)
    try:
        return key, zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if key == "UTC":  # the default must work even in an image without a tz database
            return "UTC", UTC
    # Forgive case only ("europe/paris"); never guess a different zone.
    matches = [z for z in _zone_names() if z.lower() == name.lower()]
    return (matches[0], zoneinfo.ZoneInfo(matches[0])) if len(matches) == 1 else None


@tool
def current_time(timezone: str = "UTC") -> dict | str:
    """Get the current date and time in a given time zone.

    Use this whenever the answer depends on today's date or the time of day (for example, whether
    a support desk is open or how long ago something happened). Never guess the time.

    Args:
        timezone: IANA time-zone name such as "UTC", "Europe/London", "America/New_York" or
            "Asia/Tokyo". Defaults to "UTC".

    Returns:
        {"timezone", "iso8601", "utc_offset", "abbreviation", "weekday"}; or an error message
        string starting with "Error:" if the time zone is unknown.
    """
    name = (timezone or "").strip() or "UTC"
    resolved = _resolve_zone(name)
    if resolved is None:
        close = difflib.get_close_matches(name, _zone_names(), n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        return (
            f"Error: unknown time zone {name!r}. Use an IANA name such as 'UTC', "
            f"'Europe/London' or 'America/New_York'.{hint}"
        )
    key, zone = resolved
    local = _now_utc().astimezone(zone)
    offset = local.isoformat(timespec="seconds")[-6:]
    return {
        "timezone": key,
        "iso8601": local.isoformat(timespec="seconds"),
        "utc_offset": offset,
        "abbreviation": local.tzname(),
        "weekday": local.strftime("%A"),
    }
