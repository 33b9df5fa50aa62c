"""Workers declared only by the infra tests: each must get its full set of resources."""

from __future__ import annotations

from typing import Any

from events import CATALOG, ORDER_CANCELLED
from sluice.core import Envelope
from sluice.runtime import Source, worker


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_CANCELLED],
    name="refunds",
    batch_size=25,
    batching_window_s=2,
    max_invocations=3,
    max_receive_count=3,
    timeout_s=20,
    memory_mb=512,
    writes=("state",),
    description="Test-only: refunds cancelled orders.",
)
def refunds(event: Envelope[Any]) -> None:
    """Never runs: only its declaration matters to the infra."""


@worker(
    catalog=CATALOG,
    source=Source.STREAM,
    table="orders",
    name="mirror",
    batch=True,
    publishes=True,
    idempotent=False,
    batch_size=50,
    retry_attempts=2,
    max_record_age_s=600,
    parallelization=4,
    description="Test-only: a second stream reader of the orders table.",
)
def mirror(records: list[Envelope[Any]]) -> list[str]:
    """Never runs: only its declaration matters to the infra."""
    return []


@worker(
    catalog=CATALOG,
    subscribes=[ORDER_CANCELLED],
    name="shipping",
    runtime="container",
    min_tasks=2,
    max_tasks=7,
    throughput=20,
    memory_mb=1024,
    writes=("state",),
    description="Test-only: a container worker (sluice work on Fargate).",
)
def shipping(event: Envelope[Any]) -> None:
    """Never runs: only its declaration matters to the infra."""


EXTRA = (refunds, mirror, shipping)
