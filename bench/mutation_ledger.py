"""The survivor ledger: every mutant that survives ``make mutate`` with its explanation.

``bench/mutation_survivors.toml`` holds one entry per surviving mutant, under its mutmut
name, in a ``[survivors]`` table::

    "sluice.container.runner.xǁRunnerǁ_drain__mutmut_12" = { category = "gap", reason = "..." }

``category`` is ``equivalent`` (the mutant cannot change anything a user, an operator or the
guarantees could observe) or ``gap`` (a test could kill it; ``reason`` names that test).
``audit`` compares the ledger with mutmut's verdicts: survivors with no entry are
unexplained, entries whose mutant is no longer a survivor are stale.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

LEDGER = Path("bench/mutation_survivors.toml")
CATEGORIES = ("equivalent", "gap")


class LedgerError(ValueError):
    """The ledger cannot be read, or an entry of it is malformed."""


@dataclass(frozen=True, slots=True)
class Entry:
    """Why one mutant survives."""

    category: str
    reason: str


@dataclass(slots=True)
class Audit:
    """The survivors of each module against the ledger."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    """Per module: ``survived``, ``equivalent``, ``gap``, ``unexplained``."""
    unexplained: list[str] = field(default_factory=list)
    stale: dict[str, str] = field(default_factory=dict)
    """Entries whose mutant is not a survivor now, with its verdict (``gone`` if unknown)."""

    @property
    def total(self) -> Counter[str]:
        """The counts of every module together."""
        return sum(self.counts.values(), Counter())


def load(path: Path = LEDGER) -> dict[str, Entry]:
    """The ledger's entries by mutant name; ``LedgerError`` names the first bad one."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LedgerError(f"{path}: {exc}") from exc
    survivors = table.get("survivors", {})
    if not isinstance(survivors, dict):
        raise LedgerError(f"{path}: [survivors] must be a table of mutant names")
    return {name: _entry(path, name, value) for name, value in survivors.items()}


def _entry(path: Path, name: str, value: object) -> Entry:
    if not isinstance(value, dict):
        raise LedgerError(f"{path}: {name}: expected {{ category = ..., reason = ... }}")
    category, reason = value.get("category"), value.get("reason")
    if category not in CATEGORIES:
        raise LedgerError(f"{path}: {name}: category must be one of {', '.join(CATEGORIES)}")
    if not isinstance(reason, str) or not reason.strip():
        raise LedgerError(f"{path}: {name}: the reason is empty")
    if set(value) - {"category", "reason"}:
        raise LedgerError(f"{path}: {name}: only category and reason are allowed")
    return Entry(category, reason.strip())


def audit(verdicts: dict[str, dict[str, str]], ledger: dict[str, Entry]) -> Audit:
    """Compare mutmut's verdicts (module -> mutant name -> status) with the ledger."""
    result = Audit()
    seen: dict[str, str] = {}
    for module, statuses in verdicts.items():
        counts: Counter[str] = Counter()
        for name, status in sorted(statuses.items()):
            seen[name] = status
            if status != "survived":
                continue
            counts["survived"] += 1
            entry = ledger.get(name)
            if entry is None:
                counts["unexplained"] += 1
                result.unexplained.append(name)
            else:
                counts[entry.category] += 1
        result.counts[module] = counts
    result.stale = {
        name: seen.get(name, "gone") for name in sorted(ledger) if seen.get(name) != "survived"
    }
    return result


def table(result: Audit) -> list[str]:
    """The Markdown table of survivors explained, per module with any survivor."""
    columns = ("survived", "equivalent", "gap", "unexplained")
    lines = ["| module | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    rows = [(m, c) for m, c in result.counts.items() if c["survived"]]
    for module, counts in [*rows, ("**all**", result.total)]:
        lines.append(f"| {module} | " + " | ".join(str(counts[c]) for c in columns) + " |")
    return lines
