"""jobs: a standard-queue container worker; each job sleeps, then applies its effect once."""

from __future__ import annotations

import time

from sluice.core import Envelope
from sluice.runtime import Deps, Source, worker
from tests.container.workapp.events import CATALOG, JobRequested
from tests.container.workapp.workers.effects import applied, started


@worker(
    catalog=CATALOG,
    source=Source.SQS_QUEUE,
    runtime="container",
    writes=("effects",),
    timeout_s=1,
    timeout_margin_s=0.2,
    backoff_base_s=0.1,
    max_receive_count=20,
)
def jobs(event: Envelope[JobRequested], deps: Deps) -> None:
    """Sleep ``sleep_ms``, then count one application of the job."""
    started(deps, event.data.job)
    time.sleep(event.data.sleep_ms / 1000)
    applied(deps, f"job#{event.data.job}", "ADD n :one", {":one": {"N": "1"}})


handler = jobs.handler
