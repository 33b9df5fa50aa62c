"""The flow of one profile through the declaration: which worker sees how many records.

Read from the app declaration only. The entry is the API if the app has one (each request
writes each of its tables once), else the streamed tables producers write, else the events
topic. A stream worker gets a record per write of its table; a relay publishes an event per
record; an SNS-fed worker gets every published event its filter accepts. Queue workers fed
straight by producers get what the profile feeds them (``--rate worker=N/s``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sluice.app import App
from sluice.capacity.profile import API, Profile
from sluice.runtime import ConfigurationError, Source, WorkerSpec


@dataclass(frozen=True)
class Stage:
    """One function on the flow and the records per second it is offered (at rate 1:1)."""

    name: str
    spec: WorkerSpec | None
    """None for the API."""
    share: float
    """Records it gets per entry event (0 when not on the entry's flow)."""
    fed: float = 0.0
    """Records per second producers send it directly."""

    def rate(self, entry_rate: float) -> float:
        """Records per second offered at this entry rate (before duplicates)."""
        return self.share * entry_rate + self.fed


@dataclass(frozen=True)
class Flow:
    """Every stage, in flow order, and what the entry writes and publishes."""

    entry: str
    event: str | None
    stages: tuple[Stage, ...]
    entry_tables: tuple[str, ...]
    published: float
    """Events published to the topic per entry event."""

    def stage(self, name: str) -> Stage:
        """A stage by name."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ConfigurationError(f"no worker named {name!r} on the flow")


def flow(app: App, profile: Profile) -> Flow:
    """The stages of ``app`` under ``profile``."""
    specs = list(app.registry.specs)
    known = {s.name for s in specs} | ({API} if app.api else set())
    for name in [*profile.feeds, *profile.record_ms]:
        if name not in known:
            raise ConfigurationError(
                f"no worker named {name!r}; workers: {', '.join(sorted(known)) or 'none'}"
            )
    tables = {t.name for t in app.all_tables}
    for name in profile.hot_keys:
        if name not in known | tables:
            raise ConfigurationError(
                f"--hot-key {name}=: no worker or table is called {name!r}; workers: "
                f"{', '.join(sorted(known - {API}))}; tables: {', '.join(sorted(tables))}"
            )
    streamed = {s.table for s in specs if s.source is Source.STREAM}
    if app.api is not None:
        entry, written = "api", tuple(app.api.tables)
    elif streamed:
        entry, written = "tables", tuple(t.name for t in app.tables if t.name in streamed)
    else:
        entry, written = "topic", ()
    stages = [Stage(API, None, 1.0)] if app.api is not None else []
    relays = 0
    for spec in specs:
        if spec.source is Source.STREAM:
            share = 1.0 if spec.table in written else 0.0
            stages.append(Stage(spec.name, spec, share))
            relays += int(spec.publishes and share > 0)
    published = float(relays) if entry != "topic" else 1.0
    if profile.event is not None and profile.event not in app.catalog.types:
        raise ConfigurationError(
            f"--event {profile.event!r} is not in the catalog; types: "
            f"{', '.join(sorted(app.catalog.types))}"
        )
    event = profile.event or _main_event(app, specs)
    for spec in specs:
        if spec.source is Source.SNS_QUEUE:
            share = published if event is not None and spec.accepts(event) else 0.0
            stages.append(Stage(spec.name, spec, share, profile.feeds.get(spec.name, 0.0)))
        elif spec.source.is_queue:
            stages.append(Stage(spec.name, spec, 0.0, profile.feeds.get(spec.name, 0.0)))
    return Flow(entry, event, tuple(stages), written, published)


def _main_event(app: App, specs: list[WorkerSpec]) -> str | None:
    """The event type the most SNS-fed workers subscribe to (the first, on a tie)."""
    counts = Counter[str]()
    fed = [s for s in specs if s.source is Source.SNS_QUEUE]
    for event_type in sorted(app.catalog.types):
        counts[event_type] = sum(1 for s in fed if s.accepts(event_type))
    if not counts:
        return None
    best = max(counts.values())
    return next(t for t in sorted(counts) if counts[t] == best)
