"""The bench app: ``io``, a worker whose records each wait ``sleep_ms`` (IO stand-in), and
``io_once``, the same with idempotency (a claim and a completion per record)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from sluice.app import App
from sluice.core import Catalog, Contract, Envelope, Model, rules
from sluice.runtime import Registry, Source, worker

WORK_DONE = "work.requested"


class WorkRequested(Model):
    """work.requested v1: wait this long, as an IO call would."""

    sleep_ms: Annotated[int, rules(min=0, max=10_000)] = 50


CATALOG = Catalog([Contract(WORK_DONE, 1, WorkRequested)])


DECLARED: dict[str, Any] = {
    "catalog": CATALOG,
    "source": Source.SQS_QUEUE,
    "runtime": "container",
    "batch_size": 10,
    "max_concurrency": 10,
    "max_invocations": 5,
}
"""What both workers declare: 5 invocations of 10 records at once, as a Lambda would run."""


@worker(name="io", idempotent=False, **DECLARED)
def io(event: Envelope[Any]) -> None:
    """Wait ``sleep_ms``: the IO-bound record every consumer runs."""
    time.sleep(event.data.sleep_ms / 1000)


@worker(name="io_once", **DECLARED)
def io_once(event: Envelope[Any]) -> None:
    """``io``, idempotent: a claim before it runs and a completion after (no DynamoDB effect)."""
    io.fn(event)


APP = App(
    name="benchwork",
    catalog=CATALOG,
    workers="bench.work",
    prefix="benchwork",
    root=Path(__file__).resolve().parents[2],
    given_registry=Registry([io, io_once]),
)
