"""The sandbox's scheduler: the app's schedules, fired on the same expressions as on AWS.

Each tick fires every slot that is due, oldest first, through the same request the CDK
gives EventBridge Scheduler (``Schedule.request``), so the envelope id is
``schedule:<name>:<slot>`` here too.

**Exactly once per slot, across restarts.** The last fired slot of each schedule is
written to a state file (``schedules.json`` in the state folder, for ``sluice up``) after
its send succeeds; a restarted sandbox resumes after it. A crash between the send and the
write fires that slot again on restart, with the same envelope id, and the workers'
idempotency absorbs it.

**Missed slots.** Slots that fell while the sandbox was down fire when it comes back,
oldest first, at most ``CATCH_UP`` per schedule; older ones are skipped, and the log says
how many. A schedule the state file has never seen starts at the sandbox's start: nothing
is back-filled.

**Undeliverable fires** go to the schedule's DLQ in EventBridge Scheduler's shape (the
request as the body, ``ERROR_CODE`` and ``ERROR_MESSAGE`` attributes), where ``sluice dlq``
shows and replays them. A sandbox that cannot reach its own moto server leaves the slot
unrecorded, to be fired on the next tick.

A ``ManualClock`` lets tests jump ahead and call ``tick()`` without sleeping.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from botocore.exceptions import ClientError

from sluice.local.logs import LogSink
from sluice.runtime import Clients
from sluice.schedule import ERROR_CODE, ERROR_MESSAGE, Schedule, deliver, slot_text
from sluice.topology import Topology

CATCH_UP = 10
"""At most this many missed slots fire per schedule when the sandbox comes back."""
STATE_FILE = "schedules.json"
FIRED_BY_HAND_FILE = "schedules-fired.json"
"""The last slot ``sluice schedule fire --local`` sent per schedule: kept apart from the
scheduler's own record, which says where it resumes (a slot fired by hand must not make it
skip a scheduled one)."""


class Clock(Protocol):
    """Where the scheduler reads the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)


@dataclass
class ManualClock:
    """A clock that moves only when told: ``advance()`` then ``tick()``, no sleeping."""

    moment: datetime

    def now(self) -> datetime:
        """The time it was set to."""
        return self.moment

    def advance(self, delta: timedelta) -> None:
        """Jump ahead."""
        self.moment += delta


@dataclass(frozen=True, slots=True)
class Fired:
    """One slot sent (or dead-lettered)."""

    schedule: str
    slot: str
    event_id: str
    target: str
    message_id: str | None
    """None when it went to the schedule's DLQ."""
    error: str | None = None


class SlotLog:
    """The last fired slot of each schedule, in a JSON file (or only in memory)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._slots: dict[str, str] = {}
        if path is not None and path.exists():
            self._slots = dict(json.loads(path.read_text()))

    def last(self, name: str) -> datetime | None:
        """The last slot recorded for ``name``."""
        text = self._slots.get(name)
        return datetime.fromisoformat(text) if text else None

    def record(self, name: str, slot: datetime) -> None:
        """Remember ``slot`` as fired (written atomically before returning)."""
        self._slots[name] = slot.astimezone(UTC).isoformat()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._slots, indent=2, sort_keys=True))
            tmp.replace(self.path)


def fire(
    clients: Clients,
    topology: Topology,
    schedule: Schedule,
    slot: datetime,
    address: Callable[[str], str],
) -> Fired:
    """Send one slot of ``schedule``; a refused send goes to the schedule's DLQ.

    ``address`` turns a physical queue or topic name into its URL or ARN.
    """
    action, name, group = topology.schedule_route(schedule)
    text = slot_text(slot)
    request = schedule.request(action, address(name), text, group)
    try:
        message_id = deliver(clients, action, request)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        clients.sqs.send_message(
            QueueUrl=address(topology.schedule_dlq(schedule)),
            MessageBody=json.dumps(request),
            MessageAttributes={
                ERROR_CODE: {"DataType": "String", "StringValue": str(error.get("Code", "?"))},
                ERROR_MESSAGE: {"DataType": "String", "StringValue": str(exc)[:1000]},
            },
        )
        return Fired(schedule.name, text, schedule.event_id(text), name, None, str(exc))
    return Fired(schedule.name, text, schedule.event_id(text), name, message_id)


@dataclass
class LocalScheduler:
    """Fires ``schedules`` when due; ``start()`` ticks every ``interval_s`` on a thread."""

    clients: Clients
    topology: Topology
    address: Callable[[str], str]
    schedules: Iterable[Schedule] = ()
    clock: Clock = field(default_factory=SystemClock)
    state: Path | None = None
    sink: LogSink | None = None
    interval_s: float = 1.0
    _log: SlotLog = field(init=False)
    _began: datetime = field(init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.schedules = tuple(self.schedules)
        self._log = SlotLog(self.state)
        self._began = self.clock.now()

    def last(self, schedule: Schedule) -> datetime:
        """The last fired slot, or the scheduler's start if none was ever fired."""
        return self._log.last(schedule.name) or self._began

    def due(self, schedule: Schedule, now: datetime) -> tuple[list[datetime], int]:
        """The newest ``CATCH_UP`` slots after the last fired one and not after ``now``, and
        how many older ones are skipped."""
        slots: list[datetime] = []
        skipped = 0
        moment = schedule.next_fire(self.last(schedule))
        while moment is not None and moment <= now:
            slots.append(moment)
            moment = schedule.next_fire(moment)
            if len(slots) > CATCH_UP:
                slots.pop(0)
                skipped += 1
        return slots, skipped

    def tick(self) -> list[Fired]:
        """Fire every due slot, oldest first, recording each after its send."""
        fired: list[Fired] = []
        with self._lock:
            now = self.clock.now()
            for schedule in self.schedules:
                slots, skipped = self.due(schedule, now)
                if skipped:
                    self._event("schedule slots skipped", schedule, "-", skipped=skipped)
                for slot in slots:
                    done = fire(self.clients, self.topology, schedule, slot, self.address)
                    self._log.record(schedule.name, slot)
                    self._event(
                        "schedule fired" if done.error is None else "schedule dead-lettered",
                        schedule,
                        done.event_id,
                        slot=done.slot,
                        target=done.target,
                        error=done.error,
                    )
                    fired.append(done)
        return fired

    def start(self) -> LocalScheduler:
        """Tick on a daemon thread until ``stop()``."""
        self._thread = threading.Thread(target=self._run, name="sluice-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking (a tick in progress finishes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception as exc:
                self._event("schedule tick failed", None, "-", level="ERROR", error=str(exc))

    def _event(
        self, message: str, schedule: Schedule | None, correlation_id: str, **fields: object
    ) -> None:
        if self.sink is not None:
            name = schedule.name if schedule is not None else "-"
            self.sink.event(
                message, worker="scheduler", correlation_id=correlation_id, schedule=name, **fields
            )
