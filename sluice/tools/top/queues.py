"""Queue depths for ``sluice top``: one GetQueueAttributes per queue and DLQ, URLs looked up once.

SQS bills $0.40 per million requests (standard list price), so a refresh of ``n`` queues
every 2 s costs about n x 1,800 requests an hour: well under a cent for a small pipeline.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from sluice.runtime import WorkerSpec
from sluice.tools.top.rows import Depth
from sluice.topology import Topology

_VISIBLE = "ApproximateNumberOfMessages"
_IN_FLIGHT = "ApproximateNumberOfMessagesNotVisible"


class QueueDepths:
    """Reads the depth of each worker's queue and the sum of its DLQs'."""

    def __init__(self, sqs: Any, topology: Topology) -> None:
        self.sqs = sqs
        self.topology = topology
        self._urls: dict[str, str | None] = {}

    def of(self, spec: WorkerSpec) -> Depth:
        """The worker's queue (streams have none) and its DLQs, all at once."""
        dlqs = [d.name for d in self.topology.dlqs() if d.worker == spec.name]
        counts = [self._count(name) for name in dlqs]
        dlq = None if any(c is None for c in counts) else sum(c[0] for c in counts if c)
        if not spec.source.is_queue:
            return Depth(dlq=dlq)
        queue = self._count(self.topology.queues(spec).queue)
        if queue is None:
            return Depth(dlq=dlq)
        return Depth(visible=queue[0], in_flight=queue[1], dlq=dlq)

    def _count(self, name: str) -> tuple[int, int] | None:
        url = self._url(name)
        if url is None:
            return None
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[_VISIBLE, _IN_FLIGHT])[
            "Attributes"
        ]
        return int(attrs.get(_VISIBLE, 0)), int(attrs.get(_IN_FLIGHT, 0))

    def _url(self, name: str) -> str | None:
        if name not in self._urls:
            try:
                self._urls[name] = str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
            except ClientError:
                return None  # not created yet (or deleted): ask again next time
        return self._urls[name]
