"""The quota and price data file (``quotas.toml``), read once, every figure with its source.

A figure the file marks ``found = false`` reads as None; whoever asks for it is told, so
every result that depends on an unfound figure can say so (``Quotas.unfound``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from sluice.runtime import ConfigurationError

DATA_FILE = "quotas.toml"
REGION = "us-east-1"
"""The one region the prices were read for; quotas hold in every region unless noted."""


@dataclass(frozen=True, slots=True)
class Quota:
    """One entry of the data file."""

    name: str
    figure: float | None
    unit: str
    region: str
    read_on: str
    title: str = ""
    url: str = ""
    authority: str = ""
    why: str = ""
    note: str = ""

    @property
    def found(self) -> bool:
        """True when the file gives a cited figure."""
        return self.figure is not None


class Quotas:
    """Every entry, by name."""

    def __init__(self, entries: dict[str, Quota]) -> None:
        self.entries = entries

    def __iter__(self) -> Any:
        return iter(self.entries.values())

    def get(self, name: str) -> Quota:
        """An entry, or a configuration error naming the file (a typo in the model)."""
        try:
            return self.entries[name]
        except KeyError:
            raise ConfigurationError(f"{DATA_FILE} has no entry {name!r}") from None

    def figure(self, name: str) -> float | None:
        """The figure, or None where the file says it was not found."""
        return self.get(name).figure

    def with_figures(self, figures: dict[str, float]) -> Quotas:
        """The same entries, these figures changed (``--set aws.ENTRY=N``: a quota raise, or a
        figure the file lacks); each changed entry says so in its note."""
        changed = {
            name: replace(self.get(name), figure=figure, note="set by --set")
            for name, figure in figures.items()
        }
        return Quotas({**self.entries, **changed})

    def unfound(self, *names: str) -> tuple[str, ...]:
        """Which of ``names`` the file marks not found."""
        return tuple(n for n in names if not self.get(n).found)


def parse(text: str) -> Quotas:
    """The data file's text -> entries; an entry missing its source is refused."""
    doc = tomllib.loads(text)
    entries = {}
    for name, raw in doc.items():
        found = raw.get("found", True)
        figure = raw.get("figure") if found else None
        needed = ("unit", "region", "read_on") + (("title", "url", "figure") if found else ("why",))
        missing = [key for key in needed if key not in raw]
        if missing:
            raise ConfigurationError(f"{DATA_FILE} [{name}] lacks {', '.join(missing)}")
        entries[name] = Quota(
            name=name,
            figure=None if figure is None else float(figure),
            unit=str(raw["unit"]),
            region=str(raw["region"]),
            read_on=str(raw["read_on"]),
            title=str(raw.get("title", "")),
            url=str(raw.get("url", "")),
            authority=str(raw.get("authority", "")),
            why=str(raw.get("why", "")),
            note=str(raw.get("note", "")),
        )
    return Quotas(entries)


@cache
def load() -> Quotas:
    """The data file shipped with the package."""
    return parse(resources.files("sluice.capacity").joinpath(DATA_FILE).read_text())
