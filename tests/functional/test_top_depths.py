"""``sluice top``'s snapshot against moto: each column is what SQS says, read directly."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sluice.target import Target
from sluice.tools.top import Depth, local_watcher
from tests.conftest import Pipeline


def _send(pipeline: Pipeline, queue: str, count: int) -> None:
    for n in range(count):
        pipeline.clients.sqs.send_message(QueueUrl=pipeline.url(queue), MessageBody=f"m{n}")


def test_a_snapshot_counts_visible_in_flight_and_every_dlq_of_a_worker(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # GIVEN 3 messages on inventory's queue, 1 of them received (in flight), 2 dead letters on
    # its queue DLQ and 1 on its subscription DLQ, and nothing anywhere else
    _send(pipeline, "sluice-inventory", 3)
    pipeline.clients.sqs.receive_message(
        QueueUrl=pipeline.url("sluice-inventory"), MaxNumberOfMessages=1, VisibilityTimeout=300
    )
    _send(pipeline, "sluice-inventory-dlq", 2)
    _send(pipeline, "sluice-inventory-sub-dlq", 1)
    now = time.time()
    log = tmp_path / "sandbox.log"
    log.write_text(
        json.dumps(
            {
                "ts": now - 1,
                "message": "batch metrics",
                "worker": "inventory",
                "metrics": {"processed": 4, "failed": 1, "duplicates": 0, "permanent": 1},
            }
        )
        + "\n"
    )
    target = Target(pipeline.clients, pipeline.topology, local=True)
    # WHEN one snapshot is taken
    snapshot = local_watcher(target, log).snapshot(now)
    rows = {r.worker: r for r in snapshot.rows}
    # THEN the inventory row has the queue's depths and the sum of its two DLQs, in red
    assert rows["inventory"].depth == Depth(visible=2, in_flight=1, dlq=3)
    assert rows["inventory"].alarms == ("dlq",)
    assert (rows["inventory"].figures.processed, rows["inventory"].figures.dead_lettered) == (4, 1)
    # AND the others are empty, a stream worker has no queue, and nothing is red
    assert rows["receipts"].depth == Depth(visible=0, in_flight=0, dlq=0)
    assert rows["ledger"].depth == Depth(visible=0, in_flight=0, dlq=0)
    assert rows["relay"].depth == Depth(visible=None, in_flight=None, dlq=0)
    assert all(not r.alarms for name, r in rows.items() if name != "inventory")


def test_a_queue_that_does_not_exist_yet_is_unknown_not_zero(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.clients.sqs.delete_queue(QueueUrl=pipeline.url("sluice-audit-dlq"))
    target = Target(pipeline.clients, pipeline.topology, local=True)
    rows = {r.worker: r for r in local_watcher(target, tmp_path / "none.log").snapshot().rows}
    assert rows["audit"].depth.dlq is None
    assert rows["audit"].depth.visible == 0
