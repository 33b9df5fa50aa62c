"""One capacity answer: every hop, the first bottleneck and its knob, the costs, each
worker's placement and what the burst does. Plain data, for a table or for JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sluice.app import App
from sluice.capacity.costs import Cost, Placement, costs, placement
from sluice.capacity.flow import Flow, flow
from sluice.capacity.model import Hop, deliveries, hops
from sluice.capacity.profile import API, Profile
from sluice.capacity.quotas import Quotas, load


@dataclass(frozen=True)
class BurstEffect:
    """One hop over its limit during the burst: the backlog it builds and how long it takes
    to clear once the burst ends (None: it never clears at the steady rate)."""

    hop: str
    backlog: float
    unit: str
    drain_s: float | None


@dataclass(frozen=True)
class Report:
    """Everything ``sluice capacity`` prints."""

    profile: Profile
    flow: Flow
    hops: list[Hop]
    costs: list[Cost]
    placements: list[Placement]
    burst: list[BurstEffect]
    assumed_ms: list[str]

    @property
    def bottleneck(self) -> Hop | None:
        """The hop that saturates first as the rate rises (the highest utilisation)."""
        ranked = self.ranked
        return ranked[0] if ranked else None

    @property
    def ranked(self) -> list[Hop]:
        """Hops with a known limit, highest utilisation first."""
        known = [h for h in self.hops if h.utilisation is not None]
        return sorted(known, key=lambda h: -(h.utilisation or 0.0))

    def saturates_at(self, hop: Hop) -> float:
        """The entry rate at which ``hop`` reaches its limit."""
        use = hop.utilisation or 0.0
        return math.inf if use == 0 else self.profile.rate / use

    @property
    def total_usd(self) -> float:
        """Dollars per million entry events, every hop."""
        return sum(c.usd for c in self.costs)

    @property
    def unfound(self) -> list[str]:
        """Every data-file entry a result here depends on that the file lacks."""
        names = {n for h in self.hops for n in h.unfound} | {
            n for c in self.costs for n in c.unfound
        }
        return sorted(names)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        top = self.bottleneck
        return {
            "profile": {**asdict(self.profile), "feeds": dict(self.profile.feeds)},
            "entry": self.flow.entry,
            "event": self.flow.event,
            "hops": [
                {**asdict(h), "utilisation": _finite(h.utilisation), "headroom": h.headroom}
                for h in self.hops
            ],
            "bottleneck": None
            if top is None
            else {"hop": top.name, "saturates_at": _finite(self.saturates_at(top)), "fix": top.fix},
            "costs_per_million_events": [asdict(c) for c in self.costs],
            "total_usd_per_million_events": self.total_usd,
            "placements": [asdict(p) for p in self.placements],
            "burst": [asdict(b) for b in self.burst],
            "assumed_record_ms": self.assumed_ms,
            "unfound": self.unfound,
        }


def analyse(app: App, profile: Profile, quotas: Quotas | None = None) -> Report:
    """The capacity answer for ``app`` under ``profile``."""
    quotas = quotas or load()
    stages = flow(app, profile)
    steady = hops(app, stages, profile, quotas, profile.rate)
    places = [
        placement(s.spec, deliveries(s, profile, profile.rate), profile, quotas)
        for s in stages.stages
        if s.spec is not None and s.spec.source.is_queue and s.rate(profile.rate) > 0
    ]
    names = [s.name for s in stages.stages if s.rate(profile.rate) > 0]
    assumed = profile.assumed(names if app.api is None else [API, *names[1:]])
    return Report(
        profile,
        stages,
        steady,
        costs(app, stages, profile, quotas, profile.rate),
        places,
        _burst(app, stages, profile, quotas, steady),
        assumed,
    )


def _burst(
    app: App, stages: Flow, profile: Profile, quotas: Quotas, steady: list[Hop]
) -> list[BurstEffect]:
    """Per hop over its limit at the burst rate: backlog = excess x seconds; it drains at
    the steady headroom."""
    if profile.burst_s <= 0 or profile.burst_factor <= 1:
        return []
    during = hops(app, stages, profile, quotas, profile.burst_rate)
    found = []
    for hop, calm in zip(during, steady, strict=True):
        if hop.limit is None or hop.offered <= hop.limit or not hop.unit.endswith("/s"):
            continue
        backlog = (hop.offered - hop.limit) * profile.burst_s
        spare = calm.limit - calm.offered if calm.limit is not None else 0.0
        found.append(
            BurstEffect(
                hop.name, backlog, hop.unit.split("/")[0], backlog / spare if spare > 0 else None
            )
        )
    return found


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else value
