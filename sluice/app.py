"""The app declaration: an app's tables, catalog, workers and API, said once.

Every reader takes them from here: the topology and its names, sandbox provisioning, the
CDK constructs, ``sluice dlq``, ``sluice graph`` and the demo. The framework finds an app
through one setting in the project's ``pyproject.toml``::

    [tool.sluice]
    app = "app:APP"        # module:attribute of an ``App``

Nothing here ships inside a Lambda: a function reads only the ``SLUICE_*`` variables the
topology derives from this declaration.
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from sluice.core import Catalog
from sluice.rpc import Operation, Operations
from sluice.runtime import ConfigurationError, Registry, Runtime, Worker, WorkerSpec, discover
from sluice.runtime.idempotency import TTL_ATTRIBUTE
from sluice.runtime.worker import placed, runtime_named
from sluice.schedule import SCHEDULED_TIME as SCHEDULED_TIME  # noqa: PLC0414 - re-exported
from sluice.schedule import Schedule as Schedule  # noqa: PLC0414 - re-exported with App
from sluice.schedule import check_schedules, check_targets

__all__ = [
    "IDEMPOTENCY_TABLE",
    "SCHEDULED_TIME",
    "Api",
    "ApiFactory",
    "App",
    "DirectCallers",
    "Route",
    "Schedule",
    "Table",
    "find_project",
    "load_app",
]

IDEMPOTENCY_TABLE = "idempotency"
"""The framework's own table: claims and completions of every idempotent worker."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")


@dataclass(frozen=True, slots=True)
class Table:
    """One DynamoDB table of the app: its logical name, keys, stream and TTL.

    Keys are strings. ``stream=True`` gives the table a NEW_AND_OLD_IMAGES stream, for a
    relay or any worker declared with ``source=Source.STREAM, table=<name>``.
    """

    name: str
    """The logical name workers and the API use (``writes=("name",)``); it becomes part of
    the physical name and of the ``SLUICE_<NAME>_TABLE`` variable."""
    partition_key: str
    """The partition key attribute (a string)."""
    sort_key: str | None = None
    """The sort key attribute (a string), if the table has one."""
    stream: bool = False
    """Give the table a NEW_AND_OLD_IMAGES stream (for a relay or a stream worker)."""
    ttl_attribute: str | None = None
    """The attribute DynamoDB's time to live reads (epoch seconds), if items expire."""

    @property
    def keys(self) -> tuple[str, ...]:
        """The key attribute names, partition key first."""
        return (
            (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)
        )


@dataclass(frozen=True, slots=True)
class Route:
    """One API route: method, path (``/notes/<note_id>``) and whether it takes a JSON body."""

    method: str
    """The HTTP method: ``GET``, ``POST``..."""
    path: str
    """The path, with ``<name>`` for each path parameter: ``/notes/<note_id>``."""
    body: bool = False
    """True when the route takes a JSON body (the gateway checks it is a JSON object)."""
    op: str | None = None
    """The operation's name for direct callers (``sluice.rpc``), e.g. ``"place_order"``."""


@dataclass(frozen=True, slots=True)
class DirectCallers:
    """Who may call the API function directly (Lambda Invoke), besides through API Gateway.

    ``roles`` are IAM role ARNs; ``accounts`` are 12-digit account ids, whose own IAM then
    decides which of their principals may call. Each gets ``lambda:InvokeFunction`` on the
    function's resource policy, naming exactly that principal (never ``*``).
    ``function_url=True`` adds a function URL with ``AWS_IAM`` auth for the same callers.
    """

    roles: tuple[str, ...] = ()
    """IAM role ARNs allowed to invoke the function, each named exactly (no wildcards)."""
    accounts: tuple[str, ...] = ()
    """12-digit account ids allowed to invoke it; each account's own IAM then decides which
    of its principals may."""
    function_url: bool = False
    """Also give the function a URL with ``AWS_IAM`` auth, for the same callers."""

    def __post_init__(self) -> None:
        for role in self.roles:
            if not _ROLE.match(role):
                raise ConfigurationError(
                    f"direct caller {role!r}: give an IAM role ARN without wildcards, e.g. "
                    "'arn:aws:iam::123456789012:role/billing-producer'"
                )
        for account in self.accounts:
            if not _ACCOUNT.match(account):
                raise ConfigurationError(
                    f"direct caller account {account!r}: an AWS account id is 12 digits, as a "
                    "string (DirectCallers(accounts=('123456789012',)))"
                )

    @property
    def principals(self) -> tuple[str, ...]:
        """Every declared principal: role ARNs, then account ids."""
        return (*self.roles, *self.accounts)


ApiFactory = Callable[..., Callable[[dict[str, Any], Any], dict[str, Any]]]
"""``factory(clients, settings, logger)`` -> a proxy handler, one per execution environment."""


@dataclass(frozen=True)
class Api:
    """The app's storage-first HTTP API: one function behind API Gateway (IAM auth).

    ``handler`` is the Lambda entry (``module.attribute``). ``factory`` builds the same
    handler for the sandbox from injected clients, settings and a logger. ``tables`` are
    the logical tables the API reads and writes, with exactly ``table_actions`` (what its
    code calls: a storage-first API gets, puts and updates items); ``routes`` are mounted on
    the gateway. Routes with an ``op`` name are also operations for direct callers: wrap
    the proxy handler in ``sluice.rpc.DirectInvoke`` (in the Lambda entry and the factory)
    and declare who may call in ``callers``.
    """

    handler: str
    """The Lambda entry, ``module.attribute``: ``"producers.api.handler"``."""
    factory: ApiFactory
    """``factory(clients, settings, logger)`` -> the same proxy handler, for the sandbox."""
    routes: tuple[Route, ...]
    """The routes mounted on the gateway (and the sandbox's HTTP front)."""
    tables: tuple[str, ...] = ()
    """Logical tables the API reads and writes; its role is granted ``table_actions`` on
    exactly these."""
    table_actions: tuple[str, ...] = (
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    )
    """The DynamoDB actions the API's code calls on its ``tables``."""
    name: str = "api"
    """The function's name after the prefix (``<prefix>-api``), and ``sluice invoke api``'s."""
    description: str = "The storage-first API"
    """The function's description on AWS."""
    callers: DirectCallers = field(default_factory=DirectCallers)
    """Internal callers allowed to invoke the function directly (none by default)."""

    @property
    def operations(self) -> Operations:
        """The routes that have an ``op`` name, as direct callers name them."""
        return Operations(
            tuple(Operation(r.op, r.method, r.path) for r in self.routes if r.op is not None)
        )


@dataclass(frozen=True)
class App:
    """Everything the framework needs to know about an app, declared once."""

    name: str
    """The app's name."""
    catalog: Catalog
    """The event contracts (``events/``): every type and version the app's records may be."""
    workers: str = "workers"
    """The package whose modules declare the workers (each with ``handler = w.handler``)."""
    tables: tuple[Table, ...] = ()
    """The app's DynamoDB tables (the framework adds its own ``idempotency`` table)."""
    api: Api | None = None
    """The storage-first HTTP API, if the app has one."""
    code: tuple[str, ...] = ("events", "producers", "workers")
    """Top-level packages (paths relative to ``root``) that go into the Lambda code asset."""
    samples: str | None = None
    """A package holding raw AWS events (``samples/*.json``) for ``sluice invoke --event``."""
    demo: str | None = None
    """``module:ClassName`` of the app's ``sluice.demo.Demo`` subclass, run by ``sluice demo``."""
    prefix: str = "sluice"
    """The default prefix of every physical name (``-c prefix=...`` / ``--prefix`` override)."""
    root: Path = field(default_factory=Path.cwd)
    """The project directory (set by ``load_app``)."""
    producer_accounts: tuple[str, ...] = ()
    """Other AWS accounts (12 digits) whose producers publish to the events topic."""
    tracing: bool = False
    """X-Ray subsegments per record (the SDK costs ~140 ms of cold start); the functions
    and the API stage trace actively either way."""
    runtimes: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False)
    """Per-stage overrides of where workers run: ``{"dev": {"receipts": "lambda"}}``;
    the stage ``"*"`` applies to every stage. ``for_stage`` applies them."""
    schedules: tuple[Schedule, ...] = ()
    """Events fired on a schedule (EventBridge Scheduler on AWS, a scheduler in the sandbox)."""
    given_registry: Registry | None = field(default=None, repr=False, compare=False)
    """Set by ``with_registry``/``with_workers``; otherwise the workers package is read."""

    def __post_init__(self) -> None:
        for account in self.producer_accounts:
            if not _ACCOUNT.match(account):
                raise ConfigurationError(
                    f"producer account {account!r}: an AWS account id is 12 digits, as a "
                    "string (App(producer_accounts=('123456789012',)))"
                )
        seen: set[str] = set()
        for table in self.tables:
            if not _NAME.match(table.name):
                raise ConfigurationError(
                    f"table name {table.name!r}: use 1-40 lowercase letters, digits or '_', "
                    "starting with a letter (it becomes part of physical names and env vars)"
                )
            if table.name in seen or table.name == IDEMPOTENCY_TABLE:
                raise ConfigurationError(
                    f"table {table.name!r} is declared twice"
                    if table.name in seen
                    else f"{IDEMPOTENCY_TABLE!r} is the framework's own table; pick another name"
                )
            seen.add(table.name)
        check_schedules(self.schedules, self.catalog)

    @cached_property
    def registry(self) -> Registry:
        """The app's workers (imports every module of the ``workers`` package once)."""
        registry = self.given_registry or discover(self.workers)
        self._check(registry)
        return registry

    @property
    def all_tables(self) -> tuple[Table, ...]:
        """The app's tables and the framework's idempotency table."""
        own = Table(IDEMPOTENCY_TABLE, "id", ttl_attribute=TTL_ATTRIBUTE)
        return (*self.tables, own)

    def table(self, name: str) -> Table:
        """A table by logical name, or an error naming the declared ones."""
        for table in self.all_tables:
            if table.name == name:
                return table
        known = ", ".join(t.name for t in self.all_tables)
        raise ConfigurationError(f"no table {name!r} is declared; tables: {known}")

    def with_workers(self, *extra: Worker) -> App:
        """The same app with ``extra`` workers added (a test's own, say)."""
        return self.with_registry(self.registry.with_workers(*extra))

    def schedule(self, name: str) -> Schedule:
        """A schedule by name, or an error naming the declared ones."""
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        known = ", ".join(s.name for s in self.schedules) or "none"
        raise ConfigurationError(f"no schedule {name!r} is declared; schedules: {known}")

    def with_registry(self, registry: Registry) -> App:
        """The same app with exactly these workers."""
        return replace(self, given_registry=registry)

    def for_stage(self, stage: str) -> App:
        """The app as deployed to ``stage`` (``prod``, ``dev``, ``sandbox``...): each
        worker on the runtime ``runtimes`` gives it there, else on its own declaration."""
        chosen = {**self.runtimes.get("*", {}), **self.runtimes.get(stage, {})}
        if not chosen:
            return self
        unknown = sorted(set(chosen) - {w.spec.name for w in self.registry})
        if unknown:
            raise ConfigurationError(
                f"App(runtimes=...) names {unknown}, which are not workers of the app "
                f"(workers: {', '.join(w.spec.name for w in self.registry)})"
            )
        workers = [
            placed(w, runtime_named(chosen[w.spec.name])) if w.spec.name in chosen else w
            for w in self.registry
        ]
        return self.with_registry(Registry(workers))

    def runtimes_of(self, spec: WorkerSpec) -> frozenset[Runtime]:
        """Where a worker runs in some stage: its declaration and every stage's override."""
        name = spec.name
        chosen = {runtime_named(c[name]) for c in self.runtimes.values() if name in c}
        return frozenset({spec.runtime, *chosen})

    def _check(self, registry: Registry) -> None:
        """Every table a worker or the API names must be declared, and streamed if read so."""
        declared = {t.name: t for t in self.all_tables}
        uses: list[tuple[str, str]] = []
        for spec in registry.specs:
            uses += [(f"worker {spec.name!r} writes", t) for t in spec.writes]
            if spec.table is not None:
                uses.append((f"worker {spec.name!r} reads the stream of", spec.table))
                if spec.table in declared and not declared[spec.table].stream:
                    raise ConfigurationError(
                        f"worker {spec.name!r} reads the stream of table {spec.table!r}, "
                        f"which has none: declare Table({spec.table!r}, ..., stream=True)"
                    )
        check_targets(self.schedules, registry)
        if self.api is not None:
            uses += [("the API uses", t) for t in self.api.tables]
        for who, name in uses:
            if name not in declared:
                raise ConfigurationError(
                    f"{who} table {name!r}, which the app does not declare: add "
                    f"Table({name!r}, partition_key=...) to App(tables=...) "
                    f"(declared: {', '.join(declared)})"
                )


def find_project(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` whose pyproject.toml has ``[tool.sluice]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "sluice" in _tool_table(candidate):
            return folder
    raise ConfigurationError(
        f"no Sluice app here: no pyproject.toml with a [tool.sluice] table at or above {here}. "
        'Add `[tool.sluice]\napp = "app:APP"` to your project, or make one with `sluice new DIR`'
    )


def load_app(start: Path | None = None) -> App:
    """Import the app that ``[tool.sluice] app = "module:attribute"`` names, from its project."""
    root = find_project(start)
    setting = _tool_table(root / "pyproject.toml")["sluice"].get("app")
    if not isinstance(setting, str) or ":" not in setting:
        raise ConfigurationError(
            f"{root / 'pyproject.toml'}: [tool.sluice] app must be 'module:attribute', "
            f'e.g. app = "app:APP"; got {setting!r}'
        )
    module_name, _, attribute = setting.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"[tool.sluice] app = {setting!r}: cannot import {module_name!r} from {root} ({exc})"
        ) from None
    found = getattr(module, attribute, None)
    if not isinstance(found, App):
        raise ConfigurationError(
            f"[tool.sluice] app = {setting!r}: {module_name}.{attribute} is "
            f"{type(found).__name__ if found is not None else 'missing'}, not a sluice.App"
        )
    return found if found.root == root else replace(found, root=root)


def _tool_table(pyproject: Path) -> dict[str, Any]:
    with pyproject.open("rb") as handle:
        tool = tomllib.load(handle).get("tool", {})
    return tool if isinstance(tool, dict) else {}
