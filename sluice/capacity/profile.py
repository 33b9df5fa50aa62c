"""A load profile: the rate at the entry, a burst, duplicates, poison, hot keys, the
per-record times the model cannot read from a declaration, and the deployed sizes no
declaration holds (``Deployed``, which ``--set`` changes). Parsed from the command line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sluice import sizing
from sluice.runtime import ConfigurationError

DEFAULT_RECORD_MS = 50.0
"""Assumed handler time per record: a claim, a transaction and a completion (measure yours)."""
DEFAULT_BATCH_RECORD_MS = 5.0
"""Assumed time per record of a ``batch=True`` worker (a relay: one PublishBatch per 10)."""
DEFAULT_API_MS = 30.0
"""Assumed API function time per request (one conditional PutItem)."""
DEFAULT_LOG_KB = 1.0
"""Assumed log volume per record per hop (Powertools JSON lines, start/end/report)."""
API = "api"

_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_BURST = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*x\s*:\s*([0-9]*\.?[0-9]+)\s*s\s*$")


@dataclass(frozen=True)
class Deployed:
    """Sizes the stack deploys that no worker declares, as the model reads them.

    Defaults are what ``sluice deploy`` sets today (``sluice/sizing.py``) and AWS's default
    quotas; ``--set`` changes them to answer "what if".
    """

    api_rate: float = sizing.API_RATE_LIMIT
    """The API stage's steady throttle, requests per second."""
    api_burst: float = sizing.API_BURST_LIMIT
    table_quotas: Mapping[str, float] = field(default_factory=dict)
    """``TABLE.write_quota`` / ``TABLE.read_quota`` -> request units per second."""
    key_shards: Mapping[str, int] = field(default_factory=dict)
    """Worker -> key suffixes its hot key is spread over (write sharding; 1: none)."""

    def table_quota(self, table: str, kind: str, default: float | None) -> float | None:
        """A table's write or read limit: the one set for it, else the account default."""
        return self.table_quotas.get(f"{table}.{kind}_quota", default)

    def shards(self, worker: str) -> int:
        """Key suffixes the worker's hot key is spread over."""
        return self.key_shards.get(worker, 1)


@dataclass(frozen=True)
class Profile:
    """What is offered to the pipeline, the times it takes, and the deployed sizes."""

    rate: float
    """Events per second at the entry (the API, else the streamed tables, else the topic)."""
    feeds: Mapping[str, float] = field(default_factory=dict)
    """Events per second producers send straight to a queue worker, by worker."""
    burst_factor: float = 1.0
    burst_s: float = 0.0
    duplicates: float = 0.0
    """Extra deliveries per delivered record (SNS and SQS deliver at least once)."""
    poison: float = 0.0
    """Share of records that fail permanently (straight to the DLQ)."""
    hot_key: float = 0.0
    """Share of each writing worker's records that write one partition key."""
    hot_keys: Mapping[str, float] = field(default_factory=dict)
    """The same share for one worker, or for every worker writing one table, by name."""
    record_ms: Mapping[str, float] = field(default_factory=dict)
    region: str = "us-east-1"
    event: str | None = None
    """The event type the entry produces (default: the one most workers subscribe to)."""
    log_kb: float = DEFAULT_LOG_KB
    deployed: Deployed = field(default_factory=Deployed)

    def __post_init__(self) -> None:
        shares = {"--duplicates": self.duplicates, "--poison": self.poison}
        shares["--hot-key"] = self.hot_key
        shares |= {f"--hot-key {name}=": share for name, share in self.hot_keys.items()}
        for flag, share in shares.items():
            if not 0 <= share <= 1:
                raise ConfigurationError(f"{flag} is a share between 0 and 1, got {share:g}")
        if self.poison >= 1:
            raise ConfigurationError("--poison 1 poisons every event; give a share below 1")
        if self.rate <= 0 and not self.feeds:
            raise ConfigurationError("--rate must be above 0, e.g. --rate 10000/s")

    def hot_share(self, worker: str, table: str | None = None) -> float:
        """The share of ``worker``'s records on one key: named for the worker, else for the
        table it writes, else the share given for every worker."""
        if worker in self.hot_keys:
            return self.hot_keys[worker]
        if table is not None and table in self.hot_keys:
            return self.hot_keys[table]
        return self.hot_key

    @property
    def hot_text(self) -> str:
        """The hot keys as the command line gave them."""
        named = [f"{name}={share:g}" for name, share in sorted(self.hot_keys.items())]
        return ", ".join(([f"{self.hot_key:g}"] if self.hot_key or not named else []) + named)

    @property
    def burst_rate(self) -> float:
        """The entry's rate during the burst."""
        return self.rate * self.burst_factor

    def ms(self, name: str, *, batch: bool = False) -> float:
        """A worker's (or the API's) time per record, given or assumed."""
        if name in self.record_ms:
            return self.record_ms[name]
        if name == API:
            return DEFAULT_API_MS
        return DEFAULT_BATCH_RECORD_MS if batch else DEFAULT_RECORD_MS

    def assumed(self, names: list[str]) -> list[str]:
        """The names whose time per record is the model's assumption, not given."""
        return [n for n in names if n not in self.record_ms]


def parse_rate(text: str) -> float:
    """``10000/s``, ``600/min``, ``36000/h`` -> events per second."""
    found = _RATE.match(text)
    if not found:
        raise ConfigurationError(
            f"--rate {text!r}: give events per unit of time, e.g. 10000/s, 600/min or 36000/h"
        )
    return float(found.group(1)) / _PER[found.group(2)]


def parse_rates(values: list[str]) -> tuple[float, dict[str, float]]:
    """``--rate 10000/s --rate ledger=50/s`` -> the entry's rate and each fed worker's."""
    entry, feeds = 0.0, {}
    for value in values:
        name, sep, rate = value.partition("=")
        if sep:
            feeds[name.strip()] = parse_rate(rate)
        else:
            entry = parse_rate(value)
    return entry, feeds


def parse_burst(text: str | None) -> tuple[float, float]:
    """``5x:60s`` -> (5.0, 60.0); none -> no burst."""
    if text is None:
        return 1.0, 0.0
    found = _BURST.match(text)
    if not found or float(found.group(1)) < 1 or float(found.group(2)) <= 0:
        raise ConfigurationError(
            f"--burst {text!r}: give FACTORx:SECONDSs with a factor of 1 or more, e.g. 5x:60s"
        )
    return float(found.group(1)), float(found.group(2))


def parse_hot_keys(values: list[str]) -> tuple[float, dict[str, float]]:
    """``0.05`` (every writing worker) and ``inventory=0.2`` / ``state=0.1`` (one worker, or
    every worker writing one table) -> the share for all and the named ones."""
    every, named = 0.0, {}
    for value in values:
        name, sep, share = value.rpartition("=")
        figure = _figure(share)
        if (sep and not name.strip()) or not 0 <= figure <= 1:
            raise ConfigurationError(
                f"--hot-key {value!r}: give a share between 0 and 1, for every writing worker "
                "(0.05) or for one worker or table (inventory=0.05)"
            )
        if sep:
            named[name.strip()] = figure
        else:
            every = figure
    return every, named


def parse_record_ms(values: list[str]) -> dict[str, float]:
    """``worker=50`` (milliseconds per record) each."""
    times = {}
    for value in values:
        name, sep, ms = value.partition("=")
        figure = _figure(ms)
        if not sep or not name.strip() or figure <= 0:
            raise ConfigurationError(
                f"--record-ms {value!r}: give WORKER=MILLISECONDS per record, e.g. inventory=50"
            )
        times[name.strip()] = figure
    return times


def _figure(text: str) -> float:
    """``text`` as a number, or -1 (which every caller refuses) if it is none."""
    try:
        return float(text)
    except ValueError:
        return -1.0
