"""``--fix``: apply each hop's suggested change, hop by hop, until none is at or over its
limit, and keep the plan of what was changed.

Each round analyses the scenario, takes every hop at or over 100% (highest first) and sets
the knobs its fix names (``Hop.changes``: the value that runs it at ``model.TARGET``), the
largest value where two hops name the same knob. A change that raises nothing is skipped,
so the rounds stop when every hop is under its limit or no knob moves the ones left (a hop
whose limit the data file lacks, a FIFO group, a stream at ParallelizationFactor 10): those
are reported, not hidden.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sluice.capacity.knobs import Scenario, apply, today
from sluice.capacity.model import Hop
from sluice.capacity.report import Report, analyse

MAX_ROUNDS = 6
"""A fix can move load to a later hop; a handful of rounds settles any declared topology."""


@dataclass(frozen=True)
class Step:
    """One knob --fix set: from, to, and the hop that asked for it."""

    knob: str
    before: str
    after: str
    hop: str

    @property
    def flag(self) -> str:
        """The same change as a ``--set`` option."""
        return f"--set {self.knob}={self.after}"


@dataclass(frozen=True)
class Plan:
    """The fixed scenario, the steps in the order they were taken, and what is left."""

    scenario: Scenario
    steps: list[Step]
    left: list[Hop]
    """Hops still at or over their limit: no knob moves them."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "steps": [asdict(step) for step in self.steps],
            "set": [step.flag for step in self.steps],
            "left": [{"hop": h.name, "fix": h.fix, "unfound": list(h.unfound)} for h in self.left],
        }


def fix(scenario: Scenario) -> Plan:
    """Set knobs until no hop is at or over its limit, or none moves the ones left."""
    steps: list[Step] = []
    for _ in range(MAX_ROUNDS):
        wanted: dict[str, tuple[float, str]] = {}
        for hop in over(analyse(scenario.app, scenario.profile, scenario.quotas)):
            for knob, value in hop.changes:
                if value > wanted.get(knob, (0.0, ""))[0]:
                    wanted[knob] = (value, hop.name)
        moving = {k: v for k, v in wanted.items() if _raises(scenario, k, v[0])}
        if not moving:
            break
        for knob, (value, asked_by) in moving.items():
            before = today(scenario, knob)
            scenario = apply(scenario, {knob: f"{value:g}"})
            steps.append(Step(knob, before, today(scenario, knob), asked_by))
    report = analyse(scenario.app, scenario.profile, scenario.quotas)
    return Plan(scenario, steps, over(report))


def over(report: Report) -> list[Hop]:
    """Hops at or over their limit, highest first."""
    return [h for h in report.ranked if (h.utilisation or 0.0) >= 1]


def _raises(scenario: Scenario, knob: str, value: float) -> bool:
    """True if setting ``knob`` to ``value`` raises it."""
    try:
        return float(today(scenario, knob)) < value
    except ValueError:  # "not found": the data file has no figure to raise
        return False
