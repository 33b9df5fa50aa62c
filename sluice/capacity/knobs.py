"""What if: ``--set NAME.SETTING=VALUE`` changes the declaration, a quota or a deployed size
before the model and the simulation read them.

Knob names (``sluice capacity --knobs`` lists every one of an app with today's value):

- ``api.rate``, ``api.burst``: the API stage's throttle (``sluice/sizing.py``);
- ``aws.ENTRY``: any figure of the data file, e.g. ``aws.lambda_concurrency=3000`` (a quota
  raise) or one the file lacks, e.g. ``aws.sns_publish_tps=N``;
- ``TABLE.write_quota``, ``TABLE.read_quota``: one table's request units per second;
- ``WORKER.SETTING``: a setting of the worker's declaration (``WORKER_SETTINGS``), checked
  exactly as ``@worker`` checks it;
- ``WORKER.key_shards``: its hot key spread over that many key suffixes (write sharding).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sluice.app import App
from sluice.capacity.profile import Profile
from sluice.capacity.quotas import Quotas
from sluice.runtime import ConfigurationError, Registry, Source, Worker, WorkerSpec
from sluice.runtime.spec import Runtime, check_spec
from sluice.runtime.worker import runtime_named

WORKER_SETTINGS: dict[str, Callable[[str], Any]] = {
    "batch_size": int,
    "batching_window_s": int,
    "max_concurrency": int,
    "max_invocations": int,
    "max_receive_count": int,
    "memory_mb": int,
    "timeout_s": int,
    "parallelization": int,
    "min_tasks": int,
    "max_tasks": int,
    "throughput": float,
    "runtime": runtime_named,
}
"""``WorkerSpec`` settings a knob may change, and how its value is read."""
API_KNOBS = {"rate": "the API stage's steady throttle, req/s", "burst": "its burst, requests"}
TABLE_KNOBS = {"write_quota": "write request units/s", "read_quota": "read request units/s"}
TABLE_DEFAULTS = {"write": "ddb_ondemand_table_wru", "read": "ddb_ondemand_table_rru"}
"""A table's limit when no knob sets it: the account's per-table quota."""
KEY_SHARDS = "key_shards"


@dataclass(frozen=True)
class Scenario:
    """What the model reads: the app, the data file and the profile, knobs applied."""

    app: App
    quotas: Quotas
    profile: Profile


@dataclass(frozen=True)
class Knob:
    """One knob of an app: its name, today's value and what it moves."""

    name: str
    today: str
    what: str


def parse_sets(values: list[str]) -> dict[str, str]:
    """``NAME.SETTING=VALUE`` each -> {name: value}."""
    found = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or "." not in name or not setting.strip():
            raise ConfigurationError(
                f"--set {value!r}: give NAME.SETTING=VALUE, e.g. inventory.max_invocations=63 "
                "(sluice capacity --knobs lists them)"
            )
        found[name.strip()] = setting.strip()
    return found


def apply(scenario: Scenario, sets: Mapping[str, str]) -> Scenario:
    """``scenario`` with every knob of ``sets`` set; an unknown knob or a value its
    declaration refuses is a ``ConfigurationError`` naming the knob."""
    for name, value in sets.items():
        scenario = _set(scenario, name, value)
    return scenario


def today(scenario: Scenario, name: str) -> str:
    """A knob's value in ``scenario``, as text."""
    owner, setting = name.split(".", 1)
    deployed = scenario.profile.deployed
    if owner == "api":
        return f"{getattr(deployed, f'api_{setting}'):g}"
    if owner == "aws":
        figure = scenario.quotas.figure(setting)
        return "not found" if figure is None else f"{figure:g}"
    workers = {w.spec.name: w.spec for w in scenario.app.registry}
    if owner in workers:
        if setting == KEY_SHARDS:
            return str(deployed.shards(owner))
        return str(getattr(workers[owner], setting))
    kind = setting.removesuffix("_quota")
    figure = deployed.table_quota(owner, kind, scenario.quotas.figure(TABLE_DEFAULTS[kind]))
    return "not found" if figure is None else f"{figure:g}"


def knobs(scenario: Scenario) -> list[Knob]:
    """Every knob of the app, with today's value."""
    found = []
    if scenario.app.api is not None:
        found += [Knob(f"api.{k}", today(scenario, f"api.{k}"), w) for k, w in API_KNOBS.items()]
    for quota in scenario.quotas:
        found.append(Knob(f"aws.{quota.name}", today(scenario, f"aws.{quota.name}"), quota.unit))
    for table in scenario.app.all_tables:
        for setting, what in TABLE_KNOBS.items():
            name = f"{table.name}.{setting}"
            found.append(Knob(name, today(scenario, name), what))
    for spec in scenario.app.registry.specs:
        for setting in _settings_of(spec):
            name = f"{spec.name}.{setting}"
            found.append(Knob(name, today(scenario, name), _what(setting)))
    return found


def _settings_of(spec: WorkerSpec) -> list[str]:
    """The knobs that mean something for this kind of worker."""
    common = ["batch_size", "batching_window_s", "memory_mb", "timeout_s"]
    if spec.source is Source.STREAM:
        found = [*common, "parallelization"]
    elif spec.runtime is Runtime.CONTAINER:
        found = [*common, "max_concurrency", "min_tasks", "max_tasks", "throughput", "runtime"]
    else:
        found = [*common, "max_concurrency", "max_invocations", "max_receive_count", "runtime"]
    return found + ([KEY_SHARDS] if spec.writes else [])


def _what(setting: str) -> str:
    if setting == KEY_SHARDS:
        return "its hot key spread over N key suffixes (write sharding)"
    return f"WorkerSpec.{setting}"


def _set(scenario: Scenario, name: str, value: str) -> Scenario:
    where = f"--set {name}={value}"
    owner, _, setting = name.partition(".")
    workers = {w.spec.name: w for w in scenario.app.registry}
    tables = {t.name for t in scenario.app.all_tables}
    profile, deployed = scenario.profile, scenario.profile.deployed
    if owner == "api" and setting in API_KNOBS:
        changed = replace(deployed, **{f"api_{setting}": _positive(where, value, float)})
        return replace(scenario, profile=replace(profile, deployed=changed))
    if owner == "aws" and setting in scenario.quotas.entries:
        figure = _positive(where, value, float, zero=True)
        return replace(scenario, quotas=scenario.quotas.with_figures({setting: figure}))
    if owner in workers and setting == KEY_SHARDS:
        shards = {**deployed.key_shards, owner: _positive(where, value, int)}
        changed = replace(deployed, key_shards=shards)
        return replace(scenario, profile=replace(profile, deployed=changed))
    if owner in workers and setting in WORKER_SETTINGS:
        return replace(scenario, app=_declare(scenario.app, workers[owner], setting, value, where))
    if owner in tables and setting in TABLE_KNOBS:
        quotas = {**deployed.table_quotas, name: _positive(where, value, float)}
        changed = replace(deployed, table_quotas=quotas)
        return replace(scenario, profile=replace(profile, deployed=changed))
    raise ConfigurationError(
        f"--set {name}: no such knob; NAME.SETTING where NAME is api, aws (a data-file entry), "
        f"a table ({', '.join(sorted(tables))}) or a worker ({', '.join(sorted(workers))}); "
        "sluice capacity --knobs lists them"
    )


def _declare(app: App, worker: Worker, setting: str, value: str, where: str) -> App:
    """The app with one worker's declaration changed, checked as ``@worker`` checks it."""
    read = WORKER_SETTINGS[setting]
    try:
        figure: Any = _whole(value) if read is int else read(value)
        changes: dict[str, Any] = {setting: figure}
        spec = replace(worker.spec, **changes)
        check_spec(spec, worker.catalog)
    except ValueError:
        raise ConfigurationError(
            f"{where}: give a number ({setting} is a {read.__name__})"
        ) from None
    except ConfigurationError as refused:
        raise ConfigurationError(f"{where}: {refused}") from None
    changed = Worker(spec=spec, fn=worker.fn, catalog=worker.catalog)
    workers = [changed if w.spec.name == spec.name else w for w in app.registry]
    return app.with_registry(Registry(workers))


def _whole(value: str) -> int:
    figure = float(value)
    if not figure.is_integer():
        raise ValueError(value)
    return int(figure)


def _positive(where: str, value: str, kind: type, *, zero: bool = False) -> Any:
    try:
        figure = _whole(value) if kind is int else float(value)
    except ValueError:
        figure = -1
    if figure < 0 or (figure == 0 and not zero):
        noun = "a whole number above 0" if kind is int else "a number above 0"
        raise ConfigurationError(f"{where}: give {noun}")
    return figure
