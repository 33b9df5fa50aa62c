"""Physical names and wiring derived from the app declaration: one source for infra,
sandbox and ops.

The CDK app, ``sluice up`` and ``sluice dlq`` all ask this module what a queue, a DLQ or a
table is called, so the sandbox and the cloud never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sluice.app import App
from sluice.runtime import Registry, Source, WorkerSpec
from sluice.runtime.context import ENV_TOPIC, table_variable
from sluice.schedule import Action, Schedule

__all__ = ["DEFAULT_PREFIX", "Dlq", "DlqKind", "Topology", "WorkerQueues"]

DEFAULT_PREFIX = "sluice"
STREAM_FAILURE_RETENTION_DAYS = 14
"""How long a stream worker's failure bucket keeps its records, unless its lifecycle says
otherwise (``sluice.cdk.defaults.STREAM_FAILURE_RETENTION`` is this many days)."""
EVENT_TYPE_ATTRIBUTE = "event_type"


class DlqKind(StrEnum):
    """Which failure path a dead-letter queue catches."""

    QUEUE = "queue"
    """A worker queue's redrive target, after maxReceiveCount receives."""
    SUBSCRIPTION = "subscription"
    """An SNS subscription's DLQ, for messages SNS could not deliver to the queue."""
    STREAM_FAILURE = "stream-failure"
    """A stream worker's failure queue: on-failure records, or S3 notifications naming them."""
    SCHEDULE = "schedule"
    """A schedule's DLQ: fires EventBridge Scheduler could not deliver, after its retries."""


@dataclass(frozen=True, slots=True)
class Dlq:
    """One dead-letter queue and what feeds it."""

    name: str
    kind: DlqKind
    worker: str
    """The worker it catches for (the schedule's name, for SCHEDULE)."""
    source: str
    """The queue it catches for (QUEUE), the topic (SUBSCRIPTION), the table (STREAM), or
    the topic or queue a schedule sends to (SCHEDULE)."""
    fifo: bool = False


@dataclass(frozen=True, slots=True)
class WorkerQueues:
    """A queue worker's queue, its DLQ, and (SNS-fed only) its subscription's DLQ."""

    queue: str
    dlq: str
    subscription_dlq: str | None
    fifo: bool


class Topology:
    """Names for everything, from an app and a prefix (e.g. ``sluice`` or ``sluice-dev``)."""

    def __init__(self, app: App, prefix: str | None = None) -> None:
        self.app = app
        self.prefix = prefix or app.prefix

    @property
    def registry(self) -> Registry:
        """The app's workers."""
        return self.app.registry

    def table(self, logical: str) -> str:
        """``state`` -> ``sluice-state``."""
        return f"{self.prefix}-{logical.replace('_', '-')}"

    @property
    def tables(self) -> dict[str, str]:
        """Every logical table (the app's and the idempotency table) and its physical name."""
        return {t.name: self.table(t.name) for t in self.app.all_tables}

    @property
    def topic(self) -> str:
        """The events topic every SNS-fed worker subscribes to."""
        return f"{self.prefix}-events"

    @property
    def alarms_topic(self) -> str:
        """Where every alarm notifies."""
        return f"{self.prefix}-alarms"

    def queues(self, spec: WorkerSpec) -> WorkerQueues:
        """The queue names of a queue worker."""
        if not spec.source.is_queue:
            raise ValueError(f"worker {spec.name!r} reads a stream and has no queue")
        suffix = ".fifo" if spec.source.is_fifo else ""
        base = f"{self.prefix}-{spec.name}"
        return WorkerQueues(
            queue=f"{base}{suffix}",
            dlq=f"{base}-dlq{suffix}",
            subscription_dlq=f"{base}-sub-dlq" if spec.source is Source.SNS_QUEUE else None,
            fifo=spec.source.is_fifo,
        )

    def function_name(self, name: str) -> str:
        """A worker's (or the API's) Lambda function: ``inventory`` -> ``sluice-inventory``."""
        return f"{self.prefix}-{name}"

    def log_group(self, name: str) -> str:
        """Where a function's logs go."""
        return f"/aws/lambda/{self.function_name(name)}"

    @property
    def container_cluster(self) -> str:
        """The ECS cluster every container worker of the stack runs in."""
        return f"{self.prefix}-workers"

    def container_service(self, name: str) -> str:
        """A container worker's ECS service: ``receipts`` -> ``sluice-receipts``."""
        return f"{self.prefix}-{name}"

    def container_log_group(self, name: str) -> str:
        """Where a container worker's tasks log."""
        return f"/sluice/containers/{self.container_service(name)}"

    def stream_failure_queue(self, spec: WorkerSpec) -> str:
        """A stream worker's on-failure destination."""
        return f"{self.prefix}-{spec.name}-stream-failures"

    def schedule_dlq(self, schedule: Schedule) -> str:
        """Where EventBridge Scheduler (or the sandbox's scheduler) puts undeliverable fires."""
        return f"{self.prefix}-{schedule.name.replace('_', '-')}-schedule-dlq"

    def schedule_target(self, schedule: Schedule) -> str:
        """The topic or queue name a schedule sends to."""
        return self.schedule_route(schedule)[1]

    def schedule_route(self, schedule: Schedule) -> tuple[Action, str, str | None]:
        """How a schedule sends: the API, the topic or queue name, and a FIFO group id."""
        if schedule.target is None:
            return Action.PUBLISH, self.topic, None
        spec = self.registry.get(schedule.target).spec
        names = self.queues(spec)
        group = str(schedule.payload[spec.group_by])[:128] if names.fifo and spec.group_by else None
        return Action.SEND_MESSAGE, names.queue, group

    @staticmethod
    def filter_policy(spec: WorkerSpec) -> dict[str, Any] | None:
        """The SNS filter policy (MessageAttributes scope), or None to receive everything."""
        if spec.subscribes is None:
            return None
        return {EVENT_TYPE_ATTRIBUTE: sorted(spec.subscribes)}

    def dlqs(self) -> list[Dlq]:
        """Every dead-letter queue in the pipeline, by worker."""
        found: list[Dlq] = []
        for spec in self.registry.specs:
            if spec.source is Source.STREAM:
                table = spec.table or ""
                found.append(
                    Dlq(
                        self.stream_failure_queue(spec),
                        DlqKind.STREAM_FAILURE,
                        spec.name,
                        self.table(table),
                    )
                )
                continue
            names = self.queues(spec)
            found.append(Dlq(names.dlq, DlqKind.QUEUE, spec.name, names.queue, names.fifo))
            if names.subscription_dlq:
                found.append(
                    Dlq(names.subscription_dlq, DlqKind.SUBSCRIPTION, spec.name, self.topic)
                )
        found += [
            Dlq(self.schedule_dlq(s), DlqKind.SCHEDULE, s.name, self.schedule_target(s))
            for s in self.app.schedules
        ]
        return found

    def dlq(self, name: str) -> Dlq:
        """A DLQ by name (or by worker name, for its queue DLQ), with a helpful error."""
        everything = self.dlqs()
        for dlq in everything:
            if name == dlq.name:
                return dlq
        for dlq in everything:
            if name == dlq.worker and dlq.kind in (DlqKind.QUEUE, DlqKind.STREAM_FAILURE):
                return dlq
        known = ", ".join(d.name for d in everything)
        raise LookupError(f"no DLQ named {name!r}; the DLQs are: {known}")

    def worker_environment(self, topic_arn: str) -> dict[str, str]:
        """The ``SLUICE_*`` variables every function (and the sandbox) runs with."""
        env = {table_variable(logical): name for logical, name in self.tables.items()}
        env[ENV_TOPIC] = topic_arn
        return env
