"""job.requested: a job of ``sleep_ms``, in ``group`` (the FIFO group)."""

from __future__ import annotations

from typing import Annotated

from sluice.core import Catalog, Contract, Model, rules

JOB_REQUESTED = "job.requested"


class JobRequested(Model):
    """job.requested v1."""

    job: Annotated[str, rules(min_len=1, max_len=64)]
    sleep_ms: Annotated[int, rules(min=0, max=60_000)] = 0
    group: str = "g"


CATALOG = Catalog([Contract(JOB_REQUESTED, 1, JobRequested)])
