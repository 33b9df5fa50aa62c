"""The EventBridge Scheduler expression parser and next-fire calculator (sluice.core.cron).

Examples come from the EventBridge cron reference; the DST cases from the Scheduler's
documented rule (a skipped local time does not fire, a repeated one fires once).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.core.cron import Cron, ExpressionError, Rate, fires, parse, zone

UTC_ZONE = zone("UTC")
PARIS = zone("Europe/Paris")
NEW_YORK = zone("America/New_York")


def next_n(expression: str, after: datetime, tz: str = "UTC", n: int = 4) -> list[str]:
    """The next ``n`` fire times, as local ISO strings."""
    parsed = parse(expression)
    return [f.isoformat() for f in islice(fires(parsed, after, zone(tz)), n)]


START = datetime(2026, 11, 30, 9, 20, tzinfo=UTC)  # a Monday


# GIVEN the examples of the EventBridge cron reference, WHEN stepped, THEN each means what
# the reference says.
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # 10:00 every day
        ("cron(0 10 * * ? *)", ["2026-11-30T10:00:00+00:00", "2026-12-01T10:00:00+00:00"]),
        # 12:15 every day
        ("cron(15 12 * * ? *)", ["2026-11-30T12:15:00+00:00", "2026-12-01T12:15:00+00:00"]),
        # 18:00 Monday to Friday (Dec 4 is a Friday, Dec 7 the next Monday)
        (
            "cron(0 18 ? * MON-FRI *)",
            ["2026-11-30T18:00:00+00:00"]
            + [f"2026-12-0{d}T18:00:00+00:00" for d in (1, 2, 3, 4, 7)],
        ),
        # 08:00 on the first day of the month
        ("cron(0 8 1 * ? *)", ["2026-12-01T08:00:00+00:00", "2027-01-01T08:00:00+00:00"]),
        # every 15 minutes
        (
            "cron(0/15 * * * ? *)",
            ["2026-11-30T09:30:00+00:00", "2026-11-30T09:45:00+00:00", "2026-11-30T10:00:00+00:00"],
        ),
        # every 10 minutes Monday to Friday
        ("cron(0/10 * ? * MON-FRI *)", ["2026-11-30T09:30:00+00:00"]),
        # every 5 minutes Monday to Friday between 08:00 and 17:55
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            ["2026-11-30T09:25:00+00:00", "2026-11-30T09:30:00+00:00"],
        ),
        # 09:00 on the first Monday of each month
        ("cron(0 9 ? * 2#1 *)", ["2026-12-07T09:00:00+00:00", "2027-01-04T09:00:00+00:00"]),
    ],
)
def test_documented_examples(expression: str, expected: list[str]) -> None:
    assert next_n(expression, START, n=len(expected)) == expected


def test_a_wrapping_hour_range_runs_past_midnight() -> None:
    # GIVEN the reference's "every 30 minutes Mon-Fri from 22:00 to 02:00" (20-2 wraps)
    got = next_n("cron(0/30 22-2 ? * MON-FRI *)", datetime(2026, 12, 4, 21, 0, tzinfo=UTC), n=12)
    # THEN Friday evening fires, Saturday's small hours do not (the day field rules them)
    assert got[:4] == [f"2026-12-04T{t}:00+00:00" for t in ("22:00", "22:30", "23:00", "23:30")]
    assert got[4] == "2026-12-07T00:00:00+00:00"
    assert got[9] == "2026-12-07T02:30:00+00:00"
    assert got[10] == "2026-12-07T22:00:00+00:00"


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # minutes: list, range, step from a start
        ("cron(5,10 * * * ? *)", START, ["2026-11-30T10:05:00+00:00", "2026-11-30T10:10:00+00:00"]),
        ("cron(58-2 9 * * ? *)", START, ["2026-11-30T09:58:00+00:00", "2026-11-30T09:59:00+00:00"]),
        ("cron(1/25 * * * ? *)", START, ["2026-11-30T09:26:00+00:00", "2026-11-30T09:51:00+00:00"]),
        # hours: a stepped range
        (
            "cron(0 8-20/6 * * ? *)",
            START,
            ["2026-11-30T14:00:00+00:00", "2026-11-30T20:00:00+00:00"],
        ),
        # day-of-month: a step (1st, 11th, 21st, 31st)
        ("cron(0 0 1/10 * ? *)", START, ["2026-12-01T00:00:00+00:00", "2026-12-11T00:00:00+00:00"]),
        # month names, a wrapping month range and a year
        (
            "cron(0 0 1 NOV-FEB ? 2027)",
            START,
            ["2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00"],
        ),
        (
            "cron(0 0 1 jan,jul ? *)",
            START,
            ["2027-01-01T00:00:00+00:00", "2027-07-01T00:00:00+00:00"],
        ),
        # years: a range with a step, then nothing after the last
        (
            "cron(0 0 1 1 ? 2028-2032/2)",
            START,
            ["2028-01-01T00:00:00+00:00", "2030-01-01T00:00:00+00:00", "2032-01-01T00:00:00+00:00"],
        ),
        # day-of-week: numbers (1 = Sunday), a wrapping range, names
        ("cron(0 12 ? * 1 *)", START, ["2026-12-06T12:00:00+00:00", "2026-12-13T12:00:00+00:00"]),
        (
            "cron(0 12 ? * FRI-MON *)",
            START,
            [
                "2026-11-30T12:00:00+00:00",
                "2026-12-04T12:00:00+00:00",
                "2026-12-05T12:00:00+00:00",
                "2026-12-06T12:00:00+00:00",
            ],
        ),
        # L: the last day of the month; LW: its last weekday (Jan 31 2027 is a Sunday)
        (
            "cron(0 0 L * ? *)",
            START,
            [
                "2026-11-30T00:00:00+00:00",
                "2026-12-31T00:00:00+00:00",
                "2027-01-31T00:00:00+00:00",
                "2027-02-28T00:00:00+00:00",
            ][1:],
        ),
        (
            "cron(0 0 LW * ? *)",
            START,
            ["2026-12-31T00:00:00+00:00", "2027-01-29T00:00:00+00:00", "2027-02-26T00:00:00+00:00"],
        ),
        # L in day-of-week: Saturday; 6L: the last Friday of the month
        ("cron(0 0 ? * L *)", START, ["2026-12-05T00:00:00+00:00"]),
        ("cron(0 0 ? * 6L *)", START, ["2026-12-25T00:00:00+00:00", "2027-01-29T00:00:00+00:00"]),
        # W: the weekday nearest the 1st never leaves the month (May 1 2027 is a Saturday)
        ("cron(0 0 1W * ? 2027)", datetime(2027, 4, 2, tzinfo=UTC), ["2027-05-03T00:00:00+00:00"]),
        # ... the nearest to the 15th: a Saturday goes back to Friday, a Sunday on to Monday
        (
            "cron(0 0 15W * ? 2027)",
            datetime(2027, 5, 1, tzinfo=UTC),
            [
                "2027-05-14T00:00:00+00:00",
                "2027-06-15T00:00:00+00:00",
                "2027-07-15T00:00:00+00:00",
                "2027-08-16T00:00:00+00:00",
            ],
        ),
        # ... the nearest to the 31st (a Sunday in Oct 2027) goes back to Friday the 29th
        ("cron(0 0 31W 10 ? 2027)", START, ["2027-10-29T00:00:00+00:00"]),
        # #: the second Tuesday; 5#5 is the fifth Thursday (only in some months)
        (
            "cron(0 0 ? * TUE#2 *)",
            START,
            ["2026-12-08T00:00:00+00:00", "2027-01-12T00:00:00+00:00"],
        ),
        ("cron(0 0 ? * 5#5 *)", START, ["2026-12-31T00:00:00+00:00", "2027-04-29T00:00:00+00:00"]),
        # February 29th: leap years only
        ("cron(0 0 29 2 ? *)", START, ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]),
    ],
)
def test_every_field_and_wildcard(expression: str, after: datetime, expected: list[str]) -> None:
    assert next_n(expression, after, n=len(expected)) == expected


def test_an_expression_past_its_last_year_has_no_next_fire() -> None:
    assert next_n("cron(0 0 1 1 ? 2027)", datetime(2027, 1, 1, tzinfo=UTC)) == []
    assert parse("cron(0 0 31 2 ? *)").next_fire(START, UTC_ZONE) is None


def test_a_cron_is_read_in_its_time_zone() -> None:
    # 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer
    winter = parse("cron(0 2 * * ? *)").next_fire(START, PARIS)
    summer = parse("cron(0 2 * * ? *)").next_fire(datetime(2026, 7, 1, tzinfo=UTC), PARIS)
    assert winter is not None and winter.astimezone(UTC).hour == 1
    assert summer is not None and summer.astimezone(UTC).hour == 0


def test_a_local_time_skipped_by_dst_does_not_fire() -> None:
    # GIVEN 02:30 every day in New York, where 2027-03-14 jumps from 02:00 to 03:00
    got = next_n("cron(30 2 * * ? *)", datetime(2027, 3, 13, 12, tzinfo=UTC), "America/New_York", 2)
    # THEN the 14th is skipped, not moved
    assert got == ["2027-03-15T02:30:00-04:00", "2027-03-16T02:30:00-04:00"]


def test_a_local_time_repeated_by_dst_fires_once() -> None:
    # GIVEN every 30 minutes in New York, where 2026-11-01 repeats 01:00-01:59
    after = datetime(2026, 11, 1, 4, 40, tzinfo=UTC)  # 00:40 EDT
    got = next_n("cron(0/30 * * * ? *)", after, "America/New_York", 5)
    # THEN 01:00 and 01:30 fire in their first occurrence (EDT) only, then 02:00 EST
    assert got == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T02:30:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]
    # ... and from inside the repeated hour, the next fire is after it
    inside = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST, the second time round
    assert next_n("cron(0/30 * * * ? *)", inside, "America/New_York", 1) == [
        "2026-11-01T02:00:00-05:00"
    ]
    # ... also when ``after`` is given in the zone itself (fold=1: same-zone datetimes
    # compare as wall times, so the calculator must compare instants)
    local = inside.astimezone(NEW_YORK)
    assert local.fold == 1
    assert next_n("cron(0/30 * * * ? *)", local, "America/New_York", 1) == [
        "2026-11-01T02:00:00-05:00"
    ]


def test_a_rate_is_a_fixed_duration_across_dst() -> None:
    # GIVEN rate(1 day) across Paris's spring change: 24 hours, not "same local time"
    got = next_n("rate(1 day)", datetime(2027, 3, 27, 12, tzinfo=UTC), "Europe/Paris", 2)
    assert got == ["2027-03-28T01:00:00+01:00", "2027-03-29T02:00:00+02:00"]
    assert next_n("rate(15 minutes)", START, n=2) == [
        "2026-11-30T09:30:00+00:00",
        "2026-11-30T09:45:00+00:00",
    ]
    assert parse("rate(1 minute)") == Rate("rate(1 minute)", 60)
    assert parse("rate(2 hours)") == Rate("rate(2 hours)", 7200)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("every day", "rate(value unit) or cron("),
        ("cron(0 10 * * ?)", "6 fields"),
        ("cron(0 10 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 10 * * ? *)", "minutes field '60': 60 is out of range 0-59"),
        ("cron(0 24 * * ? *)", "hours field '24': 24 is out of range 0-23"),
        ("cron(0 0 32 * ? *)", "day-of-month field '32': 32 is out of range 1-31"),
        ("cron(0 0 1 13 ? *)", "month field '13': 13 is out of range 1-12"),
        ("cron(0 0 1 FOO ? *)", "month field 'FOO': 'FOO' is not a number 1-12 or JAN-DEC"),
        ("cron(0 0 ? * 8 *)", "day-of-week field '8': 8 is out of range 1-7"),
        ("cron(0 0 ? * 1/2 *)", "'/' is not allowed in day-of-week"),
        ("cron(0 0 ? * 2#6 *)", "6 is out of range 1-5"),
        ("cron(0 0 ? * 2#1,3#2 *)", "n#k stands alone"),
        ("cron(0 0 L,5 * ? *)", "L and W stand alone"),
        ("cron(0 0 ? * 2L,3 *)", "L stands alone"),
        ("cron(0 0 1 1 ? 1969)", "1969 is out of range 1970-2199"),
        ("cron(0 0 1 1 ? 2030-2028)", "the range 2030-2028 runs backwards"),
        ("cron(0/0 * * * ? *)", "0 is out of range 1-60"),
        ("cron(0,,5 * * * ? *)", "an empty value"),
        ("rate(1 minutes)", "write rate(1 minute)"),
        ("rate(5 minute)", "write rate(5 minutes)"),
        ("rate(0 minutes)", "positive whole number"),
        ("rate(5 seconds)", "minute(s), hour(s) or day(s)"),
        ("rate(five minutes)", "write rate(value unit)"),
    ],
)
def test_a_bad_expression_says_what_is_wrong(expression: str, says: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(expression)
    assert says in str(caught.value)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ExpressionError, match="not an IANA time zone"):
        zone("Mars/Olympus_Mons")


# ---- fuzzing: the next fire is strictly later, and no fire is missed before it -------------

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kolkata",  # a half-hour offset, no DST
    "America/St_Johns",
    "Pacific/Chatham",
]


def _simple(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        number.map(str),
        st.tuples(number, number).map(lambda p: f"{p[0]}-{p[1]}"),
        st.tuples(number, st.integers(1, high - low + 1)).map(lambda p: f"{p[0]}/{p[1]}"),
        st.tuples(number, number, number).map(lambda p: f"{p[0]},{p[1]},{p[2]}"),
        st.integers(1, high - low + 1).map(lambda s: f"*/{s}"),
    )


_MONTH_DAYS = st.one_of(
    st.just("*"),
    st.just("L"),
    st.just("LW"),
    st.integers(1, 31).map(lambda d: f"{d}W"),
    _simple(1, 31),
)
_WEEKDAYS = st.one_of(
    st.just("*"),
    st.just("L"),
    st.just("MON-FRI"),
    st.integers(1, 7).map(lambda d: f"{d}L"),
    st.tuples(st.integers(1, 7), st.integers(1, 5)).map(lambda p: f"{p[0]}#{p[1]}"),
    st.integers(1, 7).map(str),
    st.tuples(st.integers(1, 7), st.integers(1, 7)).map(lambda p: f"{p[0]}-{p[1]}"),
)


@st.composite
def crons(draw: st.DrawFn) -> str:
    minutes = draw(_simple(0, 59))
    hours = draw(_simple(0, 23))
    month = draw(st.one_of(st.just("*"), _simple(1, 12)))
    if draw(st.booleans()):
        days, weekdays = draw(_MONTH_DAYS), "?"
    else:
        days, weekdays = "?", draw(_WEEKDAYS)
    return f"cron({minutes} {hours} {days} {month} {weekdays} *)"


_AFTER = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)
)
WINDOW = timedelta(days=2)


def _fires_at(cron: Cron, moment: datetime, tz: str) -> bool:
    """The oracle: does the expression fire at this UTC minute (first occurrence only)?"""
    local = moment.astimezone(zone(tz))
    return (
        local.fold == 0
        and local.minute in cron.minutes
        and local.hour in cron.hours
        and cron.matches_day(local.date())
    )


@settings(max_examples=150, deadline=None)
@given(expression=crons(), after=_AFTER, tz=st.sampled_from(ZONES), local=st.booleans())
def test_fuzz_next_fire_is_the_first_later_fire(
    expression: str, after: datetime, tz: str, local: bool
) -> None:
    cron = parse(expression)
    assert isinstance(cron, Cron)
    # GIVEN ``after`` in UTC or in the schedule's own zone (where fold matters)
    found = cron.next_fire(after.astimezone(zone(tz)) if local else after, zone(tz))
    # THEN the next fire is strictly later, and is a fire time
    if found is not None:
        assert found > after
        assert found.second == 0 and _fires_at(cron, found.astimezone(UTC), tz)
        again = cron.next_fire(found, zone(tz))
        assert again is None or again > found
    # ... and no fire time is skipped before it (brute force, minute by minute, for 2 days)
    minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    horizon = min(found, after + WINDOW) if found is not None else after + WINDOW
    while minute < horizon:
        assert not _fires_at(cron, minute, tz), f"{expression} in {tz} missed {minute}"
        minute += timedelta(minutes=1)


@settings(max_examples=100, deadline=None)
@given(
    value=st.integers(1, 500),
    unit=st.sampled_from(["minute", "hour", "day"]),
    after=_AFTER,
    tz=st.sampled_from(ZONES),
)
def test_fuzz_rate_is_strictly_later_and_one_period_apart(
    value: int, unit: str, after: datetime, tz: str
) -> None:
    rate = parse(f"rate({value} {unit}{'s' if value > 1 else ''})")
    first = rate.next_fire(after, zone(tz))
    assert first is not None and after < first <= after + timedelta(seconds=rate_seconds(rate))
    second = rate.next_fire(first, zone(tz))
    assert second is not None
    # (aware datetimes sharing a zone subtract as wall times: compare in UTC)
    apart = second.astimezone(UTC) - first.astimezone(UTC)
    assert apart == timedelta(seconds=rate_seconds(rate))


def rate_seconds(rate: object) -> int:
    assert isinstance(rate, Rate)
    return rate.seconds


def test_matches_day_checks_year_and_month_too() -> None:
    cron = parse("cron(0 0 1 JAN ? 2030)")
    assert isinstance(cron, Cron)
    assert cron.matches_day(date(2030, 1, 1))
    assert not cron.matches_day(date(2031, 1, 1))
    assert not cron.matches_day(date(2030, 2, 1))
