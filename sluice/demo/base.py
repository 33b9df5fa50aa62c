"""The demo port: what an app's demo sends and checks. ``sluice demo`` does everything else.

An app names its demo once, ``App(demo="module:ClassName")``, a ``Demo`` subclass that
``sluice demo`` instantiates with no arguments for each run. It then:

1. starts the sandbox and shows a live table per worker (queued, processed, DLQ);
2. calls ``send(box, count, step)``, printing each ``with step("..."):`` block as it ends;
3. waits until every worker processed what ``expected(box)`` says, ``settled(box)`` holds
   and every queue is empty;
4. prints the records per worker, the dead letters, the end-to-end latency of ``timed(box)``
   and the ``checks(box)``; then PASS or FAIL, and ``sluice trace <follow()>``.

The instance lives for one run, so it can keep what it sent on ``self``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from sluice.local.sandbox import Sandbox
from sluice.runtime import Registry, Source


@dataclass(frozen=True)
class Check:
    """One consistency check: what the sends imply, and what the pipeline's state holds."""

    name: str
    expected: Any
    actual: Any

    @property
    def ok(self) -> bool:
        """True if they agree."""
        return bool(self.expected == self.actual)


@dataclass(frozen=True)
class Timed:
    """One request timed end to end: from ``sent_at`` (epoch seconds) until every worker
    of ``workers`` has finished the records carrying ``correlation_id``."""

    correlation_id: str
    sent_at: float
    workers: tuple[str, ...]


class Step(Protocol):
    """``with step("placed 5 notes"):`` times the block and prints the line once it ends."""

    def __call__(self, what: str) -> AbstractContextManager[None]: ...


class Demo(ABC):
    """An app's demo: the traffic it sends, what it expects, and how it checks the result."""

    unit: ClassVar[str] = "request"
    """What ``--count`` counts; also names the latency column and the trace hint."""
    default_count: ClassVar[int] = 20
    flow: ClassVar[str] = ""
    """One line under the title: the path the traffic takes."""
    timed_from: ClassVar[str] = "sent"
    """Where the end-to-end clock starts, for the latency table's title (e.g. ``POST``)."""

    @abstractmethod
    def send(self, box: Sandbox, count: int, step: Step) -> None:
        """Send the traffic to the started sandbox, one ``with step(...)`` block per part."""

    @abstractmethod
    def expected(self, box: Sandbox) -> Mapping[str, int]:
        """Records each worker must have processed once everything is through, by name.

        Called once ``send`` returned. Workers left out are not waited for.
        """

    def settled(self, box: Sandbox) -> bool:
        """Anything else that must hold before the pipeline counts as drained."""
        return True

    def checks(self, box: Sandbox) -> Sequence[Check]:
        """Consistency checks of the end state, read once the pipeline drained."""
        return ()

    def timed(self, box: Sandbox) -> Sequence[Timed]:
        """The requests to time end to end, read once the pipeline drained."""
        return ()

    def follow(self) -> str | None:
        """A correlation id worth following with ``sluice trace``."""
        return None


def fan_out(registry: Registry, published: Mapping[str, int]) -> dict[str, int]:
    """Records each SNS-fed worker receives when ``published[type]`` distinct events of
    each type reach the topic (its subscription's filter decides)."""
    return {
        spec.name: sum(n for kind, n in published.items() if spec.accepts(kind))
        for spec in registry.by_source(Source.SNS_QUEUE)
    }
