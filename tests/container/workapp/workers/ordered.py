"""ordered: a FIFO container worker; appends each job to its group's list, in order."""

from __future__ import annotations

import time

from sluice.core import Envelope
from sluice.runtime import Deps, Source, worker
from tests.container.workapp.events import CATALOG, JobRequested
from tests.container.workapp.workers.effects import applied


@worker(
    catalog=CATALOG,
    source=Source.FIFO_QUEUE,
    group_by="group",
    runtime="container",
    writes=("effects",),
    timeout_s=1,
    timeout_margin_s=0.2,
    backoff_base_s=0.1,
    max_receive_count=20,
)
def ordered(event: Envelope[JobRequested], deps: Deps) -> None:
    """Append the job to ``group#<group>``'s list."""
    time.sleep(event.data.sleep_ms / 1000)
    applied(
        deps,
        f"group#{event.data.group}",
        "SET seq = list_append(if_not_exists(seq, :empty), :job)",
        {":empty": {"L": []}, ":job": {"L": [{"S": event.data.job}]}},
    )


handler = ordered.handler
