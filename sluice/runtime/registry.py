"""Workers declare themselves next to their code; everything else reads the declarations.

``@worker(...)`` turns a function into a ``Worker``. It does no I/O and creates no client,
so importing a worker module costs only its imports. ``discover(package)`` imports every
module of an app's workers package and returns the ``Registry`` that the CDK app, the
sandbox, the CLI and ``sluice graph`` all read: nobody writes the topology twice.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sluice.core import Catalog
from sluice.runtime.errors import ConfigurationError

if TYPE_CHECKING:
    from sluice.runtime.context import Deps
    from sluice.runtime.types import PartialBatchResponse


class Source(StrEnum):
    """Where a worker's records come from."""

    SNS_QUEUE = "sns-queue"
    """A standard SQS queue subscribed to the events topic (raw delivery, filter policy)."""
    SQS_QUEUE = "sqs-queue"
    """A standard SQS queue that producers send to directly."""
    FIFO_QUEUE = "fifo-queue"
    """An SQS FIFO queue that producers send to directly; ordered per message group."""
    STREAM = "dynamodb-stream"
    """A DynamoDB table's stream (NEW_AND_OLD_IMAGES)."""

    @property
    def is_queue(self) -> bool:
        """True for the SQS kinds."""
        return self is not Source.STREAM

    @property
    def is_fifo(self) -> bool:
        """True when order within a message group must hold."""
        return self is Source.FIFO_QUEUE


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything the infra, the sandbox and the tools need to know about one worker."""

    name: str
    module: str
    source: Source
    subscribes: frozenset[str] | None
    """Event types delivered to the worker; None means every event (no filter policy)."""
    batch_size: int = 10
    batching_window_s: int = 0
    max_concurrency: int = 10
    """Records of one batch in flight at once (threads). FIFO: groups in flight at once."""
    max_invocations: int = 5
    """Concurrent invocations the event source may run (ESM maximum concurrency, >= 2)."""
    max_receive_count: int = 5
    timeout_s: int = 30
    memory_mb: int = 256
    timeout_margin_s: float = 3.0
    """Records not started when less than this remains are reported failed instead."""
    table: str | None = None
    """For stream workers: the logical name of the table whose stream is read."""
    group_by: str | None = None
    """For FIFO workers: the ``data`` field producers use as MessageGroupId."""
    retry_attempts: int = 3
    """For stream workers: retries of a failing batch before the on-failure record."""
    max_record_age_s: int = 3600
    """For stream workers: older records go to the on-failure destination unprocessed."""
    backoff_base_s: float = 2.0
    """A failed record's next delivery waits 2^(receives-1) x this, up to the visibility."""
    idempotent: bool = True
    idempotency_ttl_s: int = 14 * 24 * 3600
    """How long a completed event id is remembered: as long as a DLQ keeps messages."""
    batch: bool = False
    """True if the function takes the whole batch (list of envelopes) instead of one."""
    writes: tuple[str, ...] = ()
    """Logical tables the worker writes (the infra grants exactly these)."""
    publishes: bool = False
    """True if the worker publishes to the events topic (the infra grants exactly that)."""
    description: str = ""

    @property
    def handler_path(self) -> str:
        """What a Lambda function's ``handler`` setting points at."""
        return f"{self.module}.handler"

    @property
    def visibility_timeout_s(self) -> int:
        """The queue's visibility timeout: six times the function timeout, as AWS advises."""
        return 6 * self.timeout_s

    def accepts(self, event_type: str) -> bool:
        """Whether the worker subscribes to ``event_type``."""
        return self.subscribes is None or event_type in self.subscribes


@dataclass(eq=False)
class Worker:
    """A declared worker: its spec and its function. ``handler`` is the Lambda entry point."""

    spec: WorkerSpec
    fn: Callable[..., Any]
    catalog: Catalog
    _deps: Deps | None = field(default=None, repr=False)
    _wants_deps: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._wants_deps = len(inspect.signature(self.fn).parameters) >= 2

    def handler(self, event: dict[str, Any], context: Any) -> PartialBatchResponse:
        """Process one Lambda invocation and answer the records that failed."""
        from sluice.runtime.engine import run_batch

        return run_batch(self, event, context, self.deps)

    @property
    def deps(self) -> Deps:
        """Clients, settings and telemetry, built from the environment on first use."""
        if self._deps is None:
            from sluice.runtime.context import Deps

            self._deps = Deps.from_environment(self.spec.name)
        return self._deps

    def use(self, deps: Deps) -> Worker:
        """Inject dependencies (tests, the sandbox); returns self."""
        self._deps = deps
        return self

    def call(self, envelope: Any, deps: Deps) -> Any:
        """Call the worker's function with what it asks for."""
        if self._wants_deps:
            return self.fn(envelope, deps)
        return self.fn(envelope)


def worker(
    *,
    catalog: Catalog,
    subscribes: Iterable[str] | None = None,
    source: Source = Source.SNS_QUEUE,
    name: str | None = None,
    **settings: Any,
) -> Callable[[Callable[..., Any]], Worker]:
    """Declare a worker. See ``WorkerSpec`` for every setting and its default.

    ``catalog`` is the app's ``Catalog``: the contracts the worker's records are decoded
    and checked against (``subscribes`` must name types it knows).

    The function takes ``(event)`` or ``(event, deps)``; with ``batch=True`` it takes the
    list of envelopes instead and returns the ids of those that failed.
    """

    def declare(fn: Callable[..., Any]) -> Worker:
        types = frozenset(subscribes) if subscribes is not None else None
        spec = WorkerSpec(
            name=name or fn.__name__,
            module=fn.__module__,
            source=source,
            subscribes=types,
            **settings,
        )
        _check(spec, catalog)
        return Worker(spec=spec, fn=fn, catalog=catalog)

    return declare


def _check(spec: WorkerSpec, catalog: Catalog) -> None:
    """Fail fast, with a sentence that says how to fix the declaration."""
    where = f"worker {spec.name!r} ({spec.module})"
    if spec.subscribes is not None:
        if not spec.subscribes:
            raise ConfigurationError(f"{where}: subscribes=[] delivers nothing; omit it for all")
        unknown = sorted(spec.subscribes - catalog.types)
        if unknown:
            raise ConfigurationError(
                f"{where} subscribes to {unknown}, which the catalog does not know: "
                f"add a Contract to the app's catalog first (known: {sorted(catalog.types)})"
            )
    limit = 10 if spec.source.is_fifo else 10_000
    if not 1 <= spec.batch_size <= limit:
        raise ConfigurationError(f"{where}: batch_size must be 1..{limit}, got {spec.batch_size}")
    standard = spec.source in (Source.SNS_QUEUE, Source.SQS_QUEUE)
    if standard and spec.batch_size > 10 and spec.batching_window_s < 1:
        raise ConfigurationError(f"{where}: batch_size > 10 needs batching_window_s >= 1")
    if not 0 <= spec.batching_window_s <= 300:
        raise ConfigurationError(f"{where}: batching_window_s must be 0..300")
    if not 1 <= spec.timeout_s <= 900:
        raise ConfigurationError(f"{where}: timeout_s must be 1..900, got {spec.timeout_s}")
    if spec.visibility_timeout_s > 43_200:
        raise ConfigurationError(f"{where}: timeout_s * 6 exceeds SQS's 12 h visibility limit")
    if not 128 <= spec.memory_mb <= 10_240:
        raise ConfigurationError(f"{where}: memory_mb must be 128..10240")
    if spec.max_concurrency < 1 or spec.max_invocations < 2:
        raise ConfigurationError(f"{where}: max_concurrency >= 1 and max_invocations >= 2")
    if not 1 <= spec.max_receive_count <= 1000:
        raise ConfigurationError(f"{where}: max_receive_count must be 1..1000")
    if spec.timeout_margin_s >= spec.timeout_s:
        raise ConfigurationError(f"{where}: timeout_margin_s must be below timeout_s")
    if (spec.source is Source.STREAM) != (spec.table is not None):
        raise ConfigurationError(f"{where}: stream workers, and only they, name a `table`")
    if spec.source.is_fifo and not spec.group_by:
        raise ConfigurationError(f"{where}: FIFO workers name the `group_by` data field")


class Registry:
    """The declared workers, in a stable order, with the lookups the readers need."""

    def __init__(self, workers: Iterable[Worker]) -> None:
        self._workers: dict[str, Worker] = {}
        for item in workers:
            if item.spec.name in self._workers:
                raise ConfigurationError(f"two workers are named {item.spec.name!r}")
            self._workers[item.spec.name] = item
        self._workers = dict(sorted(self._workers.items()))

    def __iter__(self) -> Iterator[Worker]:
        return iter(self._workers.values())

    def __len__(self) -> int:
        return len(self._workers)

    def __contains__(self, name: object) -> bool:
        return name in self._workers

    def get(self, name: str) -> Worker:
        """The worker called ``name``, or an error listing the ones there are."""
        try:
            return self._workers[name]
        except KeyError:
            known = ", ".join(self._workers) or "none"
            raise ConfigurationError(f"no worker named {name!r}; workers: {known}") from None

    @property
    def specs(self) -> list[WorkerSpec]:
        """Every spec, by name."""
        return [w.spec for w in self]

    def by_source(self, *sources: Source) -> list[WorkerSpec]:
        """The specs fed by any of ``sources``."""
        return [w.spec for w in self if w.spec.source in sources]

    def subscribers(self, event_type: str) -> list[WorkerSpec]:
        """The SNS-fed workers that receive ``event_type``."""
        return [s for s in self.by_source(Source.SNS_QUEUE) if s.accepts(event_type)]

    def with_workers(self, *extra: Worker) -> Registry:
        """A new registry with ``extra`` added (e.g. a test's own worker)."""
        return Registry([*self, *extra])


def discover(package: str) -> Registry:
    """Import every module of ``package`` and collect the workers they declare.

    Each worker module must expose ``handler = <worker>.handler``, because that is the
    path the Lambda function points at.
    """
    root = importlib.import_module(package)
    found: list[Worker] = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        declared = [v for v in vars(module).values() if isinstance(v, Worker)]
        for item in declared:
            if item.spec.module != module.__name__:
                continue
            entry = getattr(module, "handler", None)
            if getattr(entry, "__self__", None) is not item:
                raise ConfigurationError(
                    f"{module.__name__} declares worker {item.spec.name!r} but has no "
                    f"`handler = {item.spec.name}.handler`; Lambda points at "
                    f"{item.spec.handler_path}"
                )
            found.append(item)
    return Registry(found)
