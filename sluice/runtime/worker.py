"""A declared worker and its Lambda entry point: ``@worker(...)`` and ``Worker.handler``.

``@worker(...)`` turns a function into a ``Worker``. It does no I/O and creates no client,
so importing a worker module costs only its imports. The engine is imported here, at
module level, so a Lambda loads it during init rather than on its first invocation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sluice.core import Catalog
from sluice.runtime.context import Deps
from sluice.runtime.engine import run_batch
from sluice.runtime.errors import ConfigurationError
from sluice.runtime.spec import Runtime, Source, WorkerSpec, check_spec
from sluice.runtime.types import PartialBatchResponse


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
        return run_batch(self, event, context, self.deps)

    @property
    def deps(self) -> Deps:
        """Clients, settings and telemetry, built from the environment on first use."""
        if self._deps is None:
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

    if "runtime" in settings:
        settings["runtime"] = runtime_named(settings["runtime"])

    def declare(fn: Callable[..., Any]) -> Worker:
        types = frozenset(subscribes) if subscribes is not None else None
        spec = WorkerSpec(
            name=name or fn.__name__,
            module=fn.__module__,
            source=source,
            subscribes=types,
            **settings,
        )
        check_spec(spec, catalog)
        return Worker(spec=spec, fn=fn, catalog=catalog)

    return declare


def runtime_named(value: str | Runtime) -> Runtime:
    """``"lambda"`` or ``"container"`` as a ``Runtime``, or an error naming both."""
    try:
        return Runtime(value)
    except ValueError:
        known = ", ".join(repr(r.value) for r in Runtime)
        raise ConfigurationError(f"runtime={value!r}: use one of {known}") from None


def placed(declared: Worker, runtime: Runtime) -> Worker:
    """The same worker, running on ``runtime`` (an app's per-stage override)."""
    if declared.spec.runtime is runtime:
        return declared
    spec = replace(declared.spec, runtime=runtime)
    check_spec(spec, declared.catalog)
    return Worker(spec=spec, fn=declared.fn, catalog=declared.catalog)
