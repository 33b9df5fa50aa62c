"""EventBridge Scheduler expressions: ``cron(...)`` and ``rate(...)``, parsed and stepped.

The rules are the ones EventBridge Scheduler documents:

- ``cron(minutes hours day-of-month month day-of-week year)``: six fields; exactly one of
  day-of-month and day-of-week is ``?``; day-of-week runs 1-7 = SUN-SAT; ``L`` and ``W`` in
  day-of-month, ``L`` and ``#`` in day-of-week; ``/`` everywhere but day-of-week; ranges
  may wrap (``20-2`` in hours is 20:00 to 02:59); years run 1970-2199.
- A cron is read in the schedule's IANA time zone. A local time that a daylight-saving jump
  forward skips does not fire; a local time that a jump back repeats fires once, the first
  time it occurs.
- ``rate(value unit)`` is a fixed duration (``minute(s)``, ``hour(s)``, ``day(s)``; a day
  is 24 hours, whatever the clocks do). AWS counts from the schedule's start; the sandbox
  counts from the Unix epoch, so a slot of ``rate(1 day)`` is UTC midnight. Like a cron, a
  rate fires no later than 2199, so its period is shorter than 1970-2199.
- Numbers are ASCII digits only: ``str.isdigit`` also takes "²" (which ``int`` refuses) and
  "٣" (which it reads as 3).

Everything here is pure: ``next_fire(after)`` is always strictly later than ``after``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR, MAX_YEAR = 1970, 2199
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_RATE = re.compile(r"^rate\(\s*([0-9]+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_END = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)
"""Nothing fires from here on: years run to MAX_YEAR, for a cron and for a rate."""
_SPAN_S = int((_END - datetime(MIN_YEAR, 1, 1, tzinfo=UTC)).total_seconds())


class ExpressionError(ValueError):
    """A schedule expression or time zone EventBridge Scheduler would refuse."""


class DayRule(StrEnum):
    """How a day field picks its days."""

    ANY = "any"
    """``?``: the other day field decides."""
    LISTED = "listed"
    """Plain values, ranges, lists and steps."""
    LAST = "last"
    """Day-of-month ``L``: the month's last day."""
    LAST_WEEKDAY = "last-weekday"
    """Day-of-month ``LW``: the month's last Monday-to-Friday."""
    NEAREST_WEEKDAY = "nearest-weekday"
    """Day-of-month ``nW``: the Monday-to-Friday nearest day n, within the month."""
    LAST_OF_MONTH = "last-of-month"
    """Day-of-week ``nL``: the month's last weekday n."""
    NTH = "nth"
    """Day-of-week ``n#k``: the k-th weekday n of the month."""


@dataclass(frozen=True, slots=True)
class Days:
    """A day-of-month or day-of-week field."""

    rule: DayRule
    values: frozenset[int] = frozenset()
    n: int = 0
    """The day (``nW``) or weekday (``nL``, ``n#k``) the rule is about."""
    k: int = 0
    """The occurrence of ``n#k``."""


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed ``cron(...)`` expression."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    month_days: Days
    months: frozenset[int]
    weekdays: Days
    years: tuple[int, ...]

    def next_fire(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The first fire time strictly after ``after``, in ``zone``; None if none is left."""
        # Compare instants in UTC: aware datetimes sharing a tzinfo compare as wall times.
        after = after.astimezone(UTC)
        start = after.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None, fold=0)
        day: date | None = start.date()
        while day is not None:
            if day.year not in self.years:
                day = self._next_year(day.year)
            elif day.month not in self.months:
                day = _first_of_next_month(day)
            else:
                if self.matches_day(day):
                    found = self._fire_on(day, start, after, zone)
                    if found is not None:
                        return found
                day = day + timedelta(days=1) if day < date(MAX_YEAR, 12, 31) else None
        return None

    def matches_day(self, day: date) -> bool:
        """Whether ``day`` is one of the expression's days (year, month and day fields)."""
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.month_days.rule is DayRule.ANY:
            return _weekday_matches(self.weekdays, day)
        return _month_day_matches(self.month_days, day)

    def _fire_on(
        self, day: date, start: datetime, after: datetime, zone: ZoneInfo
    ) -> datetime | None:
        for hour in self.hours:
            for minute in self.minutes:
                wall = datetime.combine(day, time(hour, minute))
                if wall < start:
                    continue
                instant = _existing(wall, zone)
                if instant is not None and instant.astimezone(UTC) > after:
                    return instant
        return None

    def _next_year(self, year: int) -> date | None:
        later = [y for y in self.years if y > year]
        return date(later[0], 1, 1) if later else None


@dataclass(frozen=True, slots=True)
class Rate:
    """A parsed ``rate(...)`` expression: a fixed period."""

    text: str
    seconds: int

    def next_fire(self, after: datetime, zone: ZoneInfo) -> datetime | None:
        """The next multiple of the period since the Unix epoch, strictly after ``after``;
        None once that is past ``MAX_YEAR``."""
        stamp = after.timestamp()
        slot = (int(stamp // self.seconds) + 1) * self.seconds
        if slot >= _END.timestamp():
            return None
        return datetime.fromtimestamp(slot, UTC).astimezone(zone)


Expression = Cron | Rate


def parse(text: str) -> Expression:
    """A ``cron(...)`` or ``rate(...)`` expression, or ExpressionError saying what is wrong."""
    stripped = text.strip()
    if stripped.startswith("rate("):
        return _rate(stripped)
    match = _CRON.match(stripped)
    if match is None:
        raise ExpressionError(
            f"{text!r}: a schedule expression is rate(value unit) or cron(minutes hours "
            "day-of-month month day-of-week year), e.g. rate(5 minutes) or cron(0 2 * * ? *)"
        )
    return _cron(stripped, match.group(1).split())


def zone(name: str) -> ZoneInfo:
    """An IANA time zone (``Europe/Paris``, ``UTC``), or ExpressionError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a name too long
        raise ExpressionError(
            f"time zone {name!r} is not an IANA time zone name (e.g. 'UTC', 'Europe/Paris')"
        ) from None


def fires(expression: Expression, after: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """Every fire time after ``after``, in order (endless for a rate)."""
    moment: datetime | None = expression.next_fire(after, zone)
    while moment is not None:
        yield moment
        moment = expression.next_fire(moment, zone)


def _rate(text: str) -> Rate:
    match = _RATE.match(text)
    if match is None:
        raise ExpressionError(f"{text!r}: write rate(value unit), e.g. rate(5 minutes)")
    digits, unit = match.group(1), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in _UNITS:
        raise ExpressionError(f"{text!r}: the unit is minute(s), hour(s) or day(s), not {unit!r}")
    too_long = len(digits.lstrip("0")) > len(str(_SPAN_S))  # and int() refuses 4300 digits
    value = _SPAN_S if too_long else int(digits)
    if value < 1:
        raise ExpressionError(f"{text!r}: the value must be a positive whole number")
    if value * _UNITS[singular] >= _SPAN_S:
        raise ExpressionError(
            f"{text!r}: a period as long as {MIN_YEAR}-{MAX_YEAR} never fires; "
            f"use at most {(_SPAN_S - 1) // _UNITS[singular]} {singular}s"
        )
    wanted = singular if value == 1 else f"{singular}s"
    if unit != wanted:
        raise ExpressionError(f"{text!r}: write rate({value} {wanted})")
    return Rate(text, value * _UNITS[singular])


def _cron(text: str, fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ExpressionError(
            f"{text!r}: cron takes 6 fields (minutes hours day-of-month month day-of-week "
            f"year), got {len(fields)}"
        )
    minute, hour, month_day, month, weekday, year = fields

    def where(name: str, value: str) -> str:
        return f"{text!r}: {name} field {value!r}"

    month_days = _month_days(month_day, where("day-of-month", month_day))
    weekdays = _weekdays(weekday, where("day-of-week", weekday))
    if (month_days.rule is DayRule.ANY) == (weekdays.rule is DayRule.ANY):
        raise ExpressionError(
            f"{text!r}: exactly one of day-of-month and day-of-week must be '?' "
            f"(got {month_day!r} and {weekday!r}), e.g. cron(0 2 * * ? *) or cron(0 2 ? * MON *)"
        )
    return Cron(
        text=text,
        minutes=tuple(sorted(_values(minute, 0, 59, where("minutes", minute)))),
        hours=tuple(sorted(_values(hour, 0, 23, where("hours", hour)))),
        month_days=month_days,
        months=frozenset(_values(month, 1, 12, where("month", month), _MONTHS)),
        weekdays=weekdays,
        years=tuple(sorted(_values(year, MIN_YEAR, MAX_YEAR, where("year", year), wrap=False))),
    )


def _month_days(field: str, where: str) -> Days:
    upper = field.upper()
    if upper == "?":
        return Days(DayRule.ANY)
    if upper == "L":
        return Days(DayRule.LAST)
    if upper == "LW":
        return Days(DayRule.LAST_WEEKDAY)
    if upper.endswith("W"):
        day = _number(upper[:-1], 1, 31, where, ())
        return Days(DayRule.NEAREST_WEEKDAY, n=day)
    if "L" in upper or "W" in upper:
        raise ExpressionError(f"{where}: L and W stand alone (L, LW or nW such as 15W)")
    return Days(DayRule.LISTED, frozenset(_values(field, 1, 31, where)))


def _weekdays(field: str, where: str) -> Days:
    upper = field.upper()
    if upper == "?":
        return Days(DayRule.ANY)
    if "/" in upper:
        raise ExpressionError(f"{where}: '/' is not allowed in day-of-week")
    if "#" in upper:
        day, _, nth = upper.partition("#")
        if "," in upper or "-" in upper:
            raise ExpressionError(f"{where}: n#k stands alone (one expression, e.g. 2#1)")
        weekday = _number(day, 1, 7, where, _WEEKDAYS)
        return Days(DayRule.NTH, n=weekday, k=_number(nth, 1, 5, where, ()))
    if upper == "L":
        return Days(DayRule.LISTED, frozenset({7}))
    if upper.endswith("L"):
        return Days(DayRule.LAST_OF_MONTH, n=_number(upper[:-1], 1, 7, where, _WEEKDAYS))
    if "L" in upper:
        raise ExpressionError(f"{where}: L stands alone (L, or nL such as 6L)")
    return Days(DayRule.LISTED, frozenset(_values(field, 1, 7, where, _WEEKDAYS)))


def _values(
    field: str, low: int, high: int, where: str, names: tuple[str, ...] = (), *, wrap: bool = True
) -> set[int]:
    found: set[int] = set()
    for part in field.upper().split(","):
        if not part:
            raise ExpressionError(f"{where}: an empty value in the list")
        span, slash, step_text = part.partition("/")
        step = _number(step_text, 1, high - low + 1, where, ()) if slash else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            left, _, right = span.partition("-")
            first, last = (
                _number(left, low, high, where, names),
                _number(right, low, high, where, names),
            )
            if first > last and not wrap:
                raise ExpressionError(f"{where}: the range {span} runs backwards")
        else:
            first = _number(span, low, high, where, names)
            last = high if slash else first
        size = high - low + 1
        count = (last - first) % size + 1
        found.update((first - low + i) % size + low for i in range(0, count, step))
    return found


def _number(text: str, low: int, high: int, where: str, names: tuple[str, ...]) -> int:
    if text in names:
        return names.index(text) + 1
    if not (text.isascii() and text.isdigit()):  # isdigit() alone takes "²" and "٣"
        allowed = f" or {names[0]}-{names[-1]}" if names else ""
        raise ExpressionError(f"{where}: {text!r} is not a number {low}-{high}{allowed}")
    if len(text.lstrip("0")) > len(str(high)):  # too long for the range (and for int())
        raise ExpressionError(f"{where}: {text} is out of range {low}-{high}")
    value = int(text)
    if not low <= value <= high:
        raise ExpressionError(f"{where}: {value} is out of range {low}-{high}")
    return value


def _weekday_number(day: date) -> int:
    """EventBridge's day-of-week: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _weekday_matches(days: Days, day: date) -> bool:
    weekday = _weekday_number(day)
    if days.rule is DayRule.LISTED:
        return weekday in days.values
    if days.rule is DayRule.LAST_OF_MONTH:
        return weekday == days.n and day.day + 7 > _month_length(day)
    return weekday == days.n and (day.day - 1) // 7 + 1 == days.k  # DayRule.NTH


def _month_day_matches(days: Days, day: date) -> bool:
    length = _month_length(day)
    if days.rule is DayRule.LISTED:
        return day.day in days.values
    if days.rule is DayRule.LAST:
        return day.day == length
    if days.rule is DayRule.LAST_WEEKDAY:
        return day.day == _nearest_weekday(length, day, length)
    return days.n <= length and day.day == _nearest_weekday(days.n, day, length)


def _nearest_weekday(n: int, day: date, length: int) -> int:
    """The Monday-to-Friday nearest day ``n`` of ``day``'s month, never leaving the month."""
    weekday = date(day.year, day.month, n).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return n - 1 if n > 1 else n + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the last day
        return n + 1 if n < length else n - 2
    return n


def _month_length(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _first_of_next_month(day: date) -> date | None:
    if day.month < 12:
        return date(day.year, day.month + 1, 1)
    return date(day.year + 1, 1, 1) if day.year < MAX_YEAR else None


def _existing(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The instant of a local wall time (its first occurrence), or None if DST skips it."""
    instant = wall.replace(tzinfo=zone, fold=0)
    back = instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return instant if back == wall else None
