"""job.requested: a job of ``sleep_ms``, in ``group`` (the FIFO group)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sluice.core import Catalog, Contract, rules

JOB_REQUESTED = "job.requested"


@dataclass(frozen=True, slots=True)
class JobRequested:
    """job.requested v1."""

    job: str = field(metadata=rules(min_len=1, max_len=64))
    sleep_ms: int = field(default=0, metadata=rules(min=0, max=60_000))
    group: str = "g"


CATALOG = Catalog([Contract(JOB_REQUESTED, 1, JobRequested)])
