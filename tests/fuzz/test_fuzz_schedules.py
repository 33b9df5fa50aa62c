"""Fuzz the schedules: any expression and any time zone, through the parser, the declaration
and the sandbox's scheduler.

Invariants: a declaration is a schedule or one clear line saying what is wrong (nothing else
escapes); a valid schedule's fire times are strictly later each time and are times its
expression names, with none skipped; the local scheduler, under its test clock, fires each
slot once, oldest first, and says how many it skipped when it was behind.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from itertools import islice, takewhile
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from hypothesis import given, reject
from hypothesis import strategies as st

from app import APP
from events import STOCK_AUDIT_REQUESTED
from sluice.app import Schedule
from sluice.core.cron import MAX_YEAR, MIN_YEAR, Cron, ExpressionError, Rate, fires, parse, zone
from sluice.local.logs import LogSink
from sluice.local.scheduler import CATCH_UP, STATE_FILE, LocalScheduler, ManualClock
from sluice.runtime import ConfigurationError
from sluice.schedule import slot_text
from sluice.topology import Topology
from tests.fuzz.strategies import ODD_ZONES, cron_soup, rate_soup
from tests.unit.test_cron import ZONES, _fires_at, crons

NAME = "fuzzed"
PAYLOAD = {"scope": "fuzz", "requested_by": "fuzz"}
IANA = st.sampled_from(sorted(available_timezones()))
"""Every zone this machine's tz database names."""
YEARS = st.one_of(
    st.just("*"),
    st.integers(MIN_YEAR, MAX_YEAR).map(str),
    st.tuples(st.integers(2020, 2199), st.integers(0, 30), st.integers(1, 5)).map(
        lambda y: f"{y[0]}-{min(MAX_YEAR, y[0] + y[1])}/{y[2]}"
    ),
)
VALID_CRONS = st.tuples(crons(), YEARS).map(lambda c: f"{c[0][: -len('*)')]}{c[1]})")
VALID_RATES = st.builds(
    lambda value, unit: f"rate({value} {unit}{'s' if value > 1 else ''})",
    st.integers(1, 80_000),  # 80 000 days still fires within MIN_YEAR-MAX_YEAR
    st.sampled_from(["minute", "hour", "day"]),
)
EXPRESSIONS = st.one_of(st.text(max_size=60), cron_soup, rate_soup, VALID_CRONS, VALID_RATES)
TIMEZONES = st.one_of(IANA, st.sampled_from(ZONES), ODD_ZONES, st.text(max_size=40))
MOMENTS = st.datetimes(
    min_value=datetime(MIN_YEAR, 1, 2), max_value=datetime(MAX_YEAR, 12, 30), timezones=st.just(UTC)
)
SOON = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, *map(zone, ZONES)]),
)
"""A test clock's start, in UTC or in a zone (where moving it is wall-clock arithmetic)."""


def declare(expression: str, timezone: str) -> Schedule:
    """The fuzzed schedule, publishing stock.audit_requested to the topic."""
    return Schedule(NAME, expression, STOCK_AUDIT_REQUESTED, PAYLOAD, timezone=timezone)


@given(expression=EXPRESSIONS, timezone=TIMEZONES)
def test_any_expression_in_any_zone_is_a_schedule_or_one_clear_line(
    expression: str, timezone: str
) -> None:
    # GIVEN any expression and any time zone
    # WHEN each is parsed, THEN it is taken, or refused in one line saying what is wrong
    for read, text in ((parse, expression), (zone, timezone)):
        try:
            read(text)  # type: ignore[operator]
        except ExpressionError as exc:
            assert str(exc) and "\n" not in str(exc)
    # WHEN they are declared as a schedule, THEN it is one, or one line naming it says why
    try:
        declare(expression, timezone)
    except ConfigurationError as exc:
        assert str(exc).startswith(f"schedule {NAME!r}: ") and "\n" not in str(exc)


@given(expression=VALID_CRONS | VALID_RATES, timezone=IANA | st.sampled_from(ZONES), after=MOMENTS)
def test_a_valid_schedule_fires_strictly_later_each_time_on_its_expression(
    expression: str, timezone: str, after: datetime
) -> None:
    # GIVEN a valid expression in any zone, and any moment it is read from
    parsed, tz = parse(expression), zone(timezone)
    # WHEN its next fire times are stepped
    found = list(islice(fires(parsed, after, tz), 6))
    # THEN each is strictly later than the one before, and a time the expression names
    instants = [after] + [f.astimezone(UTC) for f in found]
    assert instants == sorted(set(instants))
    for moment in found:
        assert moment.tzinfo is tz
        if isinstance(parsed, Rate):
            assert moment.timestamp() % parsed.seconds == 0
        else:
            assert isinstance(parsed, Cron) and _fires_at(parsed, moment, timezone)
    if isinstance(parsed, Rate) and found:
        assert instants[1] - after <= timedelta(seconds=parsed.seconds)
    # ... and, minute by minute for six hours, none is skipped before the first
    if isinstance(parsed, Cron):
        horizon = min([after + timedelta(hours=6), *instants[1:2]])
        minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while minute < horizon:
            assert not _fires_at(parsed, minute, timezone), f"{expression} skipped {minute}"
            minute += timedelta(minutes=1)


class Sent:
    """Clients whose SNS keeps each publish (the scheduler's schedules go to the topic)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sns = self

    def publish(self, **request: Any) -> dict[str, str]:
        """Keep the request; answer a message id."""
        self.requests.append(request)
        return {"MessageId": f"m-{len(self.requests)}"}


MOVES = st.one_of(st.integers(-3600, 0), st.integers(0, 600), st.integers(0, 86_400)).map(
    lambda s: timedelta(seconds=s)
)
"""A clock move: back a little, on a little, on a lot."""
SLOTS_ON = st.tuples(st.integers(1, CATCH_UP + 3), st.integers(0, 59))
"""A clock move to just after the k-th next slot (k past CATCH_UP: the scheduler is behind)."""
STEPS = st.tuples(
    st.lists(st.tuples(MOVES | SLOTS_ON, st.booleans()), max_size=3),
    st.tuples(SLOTS_ON, st.booleans()),
).map(lambda steps: [*steps[0], steps[1]])
"""Clock moves, each with or without a restart before it; the last one passes slots."""


def move(clock: ManualClock, step: timedelta | tuple[int, int], schedule: Schedule) -> None:
    """Move the clock by a duration, or to ``seconds`` after the k-th next slot."""
    if isinstance(step, timedelta):
        clock.advance(step)
        return
    k, seconds = step
    ahead = list(islice(fires(schedule.parsed, clock.now(), zone(schedule.timezone)), k))
    if ahead:
        clock.moment = (ahead[-1] + timedelta(seconds=seconds)).astimezone(clock.moment.tzinfo)


def model(
    slots: list[datetime], start: datetime, ticks: list[tuple[datetime, datetime | None]]
) -> tuple[list[str], int]:
    """What the scheduler owes: at each tick, the newest CATCH_UP slots after the last one
    fired (older ones skipped); a restart before any fire starts from the restart's time."""
    fired: list[datetime] = []
    skipped, last = 0, start
    for now, restarted in ticks:
        if restarted is not None and not fired:
            last = restarted
        due = [s for s in slots if last < s <= now]
        fired += due[-CATCH_UP:]
        skipped += max(0, len(due) - CATCH_UP)
        last = due[-1] if due else last
    return [slot_text(s) for s in fired], skipped


@given(
    expression=VALID_CRONS | VALID_RATES,
    timezone=IANA | st.sampled_from(ZONES),
    start=SOON,
    steps=STEPS,
)
def test_the_local_scheduler_fires_every_slot_once_under_its_test_clock(
    expression: str,
    timezone: str,
    start: datetime,
    steps: list[tuple[timedelta | tuple[int, int], bool]],
) -> None:
    # GIVEN a valid schedule (one that fires again), a test clock, and a slot file
    try:
        schedule = declare(expression, timezone)
    except ConfigurationError:
        reject()  # its years are over: nothing to fire
    clock, sent = ManualClock(start), Sent()
    lines: list[dict[str, Any]] = []
    sink = LogSink(None)
    sink.listeners.append(lines.append)
    topology = Topology(APP)
    with tempfile.TemporaryDirectory() as folder:

        def scheduler() -> LocalScheduler:
            return LocalScheduler(
                sent,  # type: ignore[arg-type]
                topology,
                lambda name: name,
                (schedule,),
                clock=clock,
                state=Path(folder) / STATE_FILE,
                sink=sink,
            )

        running, fired = scheduler(), []
        ticks: list[tuple[datetime, datetime | None]] = []
        # WHEN the scheduler sometimes restarts, the clock moves, and the scheduler ticks
        for step, restart in steps:
            restarted = clock.now() if restart else None
            if restart:
                running = scheduler()
            move(clock, step, schedule)
            fired += [f.slot for f in running.tick()]
            ticks.append((clock.now(), restarted))
    # THEN the slots fired are the model's: each once, oldest first, the newest when behind
    earliest = min([start] + [began for _, began in ticks if began is not None])
    latest = max(now for now, _ in ticks)
    every = fires(schedule.parsed, earliest, zone(timezone))
    slots = list(takewhile(lambda s: s <= latest, every))
    skipped = sum(line.get("skipped", 0) for line in lines)
    assert (fired, skipped) == model(slots, start, ticks)
    # ... each sent as the request EventBridge Scheduler would send for it
    action, target, group = topology.schedule_route(schedule)
    assert sent.requests == [schedule.request(action, target, slot, group) for slot in fired]
