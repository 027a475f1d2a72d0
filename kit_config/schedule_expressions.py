"""Application Auto Scaling schedule expressions, validated the way PutScheduledAction reads them.

Forms (PutScheduledAction `Schedule`,
https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScheduledAction.html):
`at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)` with a positive integer and minute(s) | hour(s) |
day(s), and `cron(fields)` with six fields: minutes hours day-of-month month day-of-week year
("Schedule recurring scaling actions using cron expressions",
https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html,
which refers to EventBridge's cron reference for the syntax:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html).

Cron fields, values and wildcards (EventBridge reference):

| Field        | Values          | Wildcards     |
|--------------|-----------------|---------------|
| Minutes      | 0-59            | , - * /       |
| Hours        | 0-23            | , - * /       |
| Day-of-month | 1-31            | , - * ? / L W |
| Month        | 1-12 or JAN-DEC | , - * /       |
| Day-of-week  | 1-7 or SUN-SAT  | , - * ? L #   |
| Year         | 1970-2199       | , - * /       |

Rules: exactly one of day-of-month and day-of-week is `?` (a value or `*` in one needs `?` in the
other); `#` (`3#2`, the month's second Tuesday) allows only one expression in the field; `L` is
the last day of the month (day-of-month) or `nL` the month's last weekday n (day-of-week); `nW`
the weekday nearest day n. Rate units: singular for 1, plural otherwise (EventBridge rate
reference, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html:
`rate(1 hours)` and `rate(5 hour)` are invalid). The kit accepts only these documented forms,
names in upper case, fields separated by single spaces; anything else is reported with the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
RATE_UNITS = ("minute", "hour", "day")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    wildcards: str  # beyond digits/names: which of , - * / ? L W # the field accepts
    names: tuple[str, ...] = ()
    cyclic: bool = True  # a range may wrap around (FRI-MON); not for years

    def value(self, text: str) -> int:
        if text in self.names:
            return self.names.index(text) + self.low
        if not text.isdigit():
            hint = f" or one of {self.names[0]}-{self.names[-1]}" if self.names else ""
            raise ValueError(f"{self.name}: {text!r} is not a number{hint}")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name}: {number} is outside {self.low}-{self.high}")
        return number


_FIELDS = (
    _Field("minutes", 0, 59, ",-*/"),
    _Field("hours", 0, 23, ",-*/"),
    _Field("day-of-month", 1, 31, ",-*?/LW"),
    _Field("month", 1, 12, ",-*/", MONTHS),
    _Field("day-of-week", 1, 7, ",-*?L#", WEEKDAYS),
    _Field("year", 1970, 2199, ",-*/", cyclic=False),
)


def validate_schedule(expression: str) -> str:
    """`expression` unchanged if Application Auto Scaling accepts it; ValueError saying what is wrong otherwise."""
    for kind, check in (("at", _at), ("rate", _rate), ("cron", _cron)):
        if expression.startswith(f"{kind}(") and expression.endswith(")"):
            check(expression[len(kind) + 1 : -1])
            return expression
    raise ValueError(
        f"{expression!r} is not a schedule expression; use at(yyyy-mm-ddThh:mm:ss), rate(value unit) "
        "or cron(minutes hours day-of-month month day-of-week year)"
    )


def _at(body: str) -> None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", body):
        raise ValueError(f"at({body}): write the moment as yyyy-mm-ddThh:mm:ss, e.g. at(2030-03-31T22:00:00)")
    try:
        datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ValueError(f"at({body}): {body} is not a real date and time") from None


def _rate(body: str) -> None:
    found = re.fullmatch(r"(\d+) ([a-z]+)", body)
    if not found:
        raise ValueError(f"rate({body}): write rate(value unit), e.g. rate(5 minutes)")
    value, unit = int(found[1]), found[2]
    if value < 1:
        raise ValueError(f"rate({body}): the value must be a positive integer")
    if unit.removesuffix("s") not in RATE_UNITS:
        raise ValueError(f"rate({body}): {unit!r} is not a unit; use minute(s), hour(s) or day(s)")
    expected = unit.removesuffix("s") if value == 1 else unit.removesuffix("s") + "s"
    if unit != expected:
        raise ValueError(f"rate({body}): write rate({value} {expected}) (singular for 1, plural otherwise)")


def _cron(body: str) -> None:
    fields = body.split(" ")
    if "" in fields:
        raise ValueError(f"cron({body}): separate the fields by single spaces")
    if len(fields) != 6:
        raise ValueError(
            f"cron({body}): needs 6 fields (minutes hours day-of-month month day-of-week year), "
            f"e.g. cron(0 20 ? * MON-FRI *); got {len(fields)}"
        )
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        which = "both are" if day_of_month == "?" else "neither is"
        raise ValueError(
            f"cron({body}): exactly one of day-of-month and day-of-week must be ?; {which} "
            "(e.g. cron(0 8 ? * MON-FRI *) or cron(0 8 1 * ? *))"
        )
    for spec, text in zip(_FIELDS, fields, strict=True):
        try:
            _field(spec, text)
        except ValueError as error:
            raise ValueError(f"cron({body}): {error}") from None


def _field(spec: _Field, text: str) -> None:
    if text == "?":
        if "?" not in spec.wildcards:
            raise ValueError(f"{spec.name}: ? is allowed only in day-of-month and day-of-week")
        return
    if "#" in text:
        _nth_weekday(spec, text)
        return
    for part in text.split(","):
        if not part:
            raise ValueError(f"{spec.name}: empty list entry in {text!r}")
        if "," in text and part == "*":
            raise ValueError(f"{spec.name}: * cannot be part of a list")
        _part(spec, part)


def _part(spec: _Field, part: str) -> None:
    if part == "*":
        return
    if "/" in part:
        if "/" not in spec.wildcards:
            raise ValueError(f"{spec.name}: / (increments) is not allowed in this field")
        start, _, step = part.partition("/")
        if start != "*":
            _range(spec, start) if "-" in start else spec.value(start)
        largest = spec.high if spec.low == 0 or spec.cyclic else spec.high - spec.low
        if not step.isdigit() or not 1 <= int(step) <= largest:
            raise ValueError(f"{spec.name}: the increment in {part!r} must be a whole number from 1 to {largest}")
        return
    if part in spec.names:
        return
    if spec.name == "day-of-month" and part == "L":
        return
    if spec.name == "day-of-month" and part.endswith("W") and part[:-1].isdigit():
        spec.value(part[:-1])  # nW: the weekday nearest day n
        return
    if spec.name == "day-of-week" and part.endswith("L"):
        if part != "L":
            spec.value(part[:-1])  # nL: the month's last weekday n
        return
    if re.fullmatch(r"\d*[LW]", part):
        raise ValueError(
            f"{spec.name}: {part!r}: L is allowed only in day-of-month and day-of-week, W only in day-of-month"
        )
    if "-" in part:
        _range(spec, part)
        return
    spec.value(part)


def _range(spec: _Field, part: str) -> None:
    low_text, _, high_text = part.partition("-")
    low, high = spec.value(low_text), spec.value(high_text)
    if high < low and not spec.cyclic:
        raise ValueError(f"{spec.name}: the range {part} runs backwards")


def _nth_weekday(spec: _Field, text: str) -> None:
    if spec.name != "day-of-week":
        raise ValueError(f"{spec.name}: # is allowed only in day-of-week")
    if "," in text:
        raise ValueError(f"{spec.name}: with #, the field holds one expression only ({text!r} is a list)")
    weekday, _, nth = text.partition("#")
    spec.value(weekday)
    if not nth.isdigit() or not 1 <= int(nth) <= 5:
        raise ValueError(f"{spec.name}: in {text!r} the week of the month after # must be 1-5")
