"""The declared workers of an app, collected once; everything else reads them.

``discover(package)`` imports every module of an app's workers package and returns the
``Registry`` that the CDK app, the sandbox, the CLI and ``sluice graph`` all read: nobody
writes the topology twice.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator

from sluice.runtime.errors import ConfigurationError
from sluice.runtime.spec import Source, WorkerSpec
from sluice.runtime.worker import Worker


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
