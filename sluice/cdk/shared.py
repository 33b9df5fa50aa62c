"""What every worker construct (and the API, if any) is built from, passed down as one value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from sluice.app import IDEMPOTENCY_TABLE
from sluice.cdk import nag
from sluice.cdk.event_bus import EventBus
from sluice.cdk.event_store import EventStore
from sluice.cdk.functions import FunctionKit
from sluice.cdk.monitoring import Monitoring
from sluice.cdk.paths import RUNTIME_CALLS
from sluice.cdk.stage import Stage
from sluice.runtime import WorkerSpec
from sluice.topology import Topology

# What the runtime's idempotency store calls, each with its reason (``paths.RUNTIME_CALLS``).
IDEMPOTENCY_ACTIONS = RUNTIME_CALLS["idempotency"]
# A worker writes its tables through ``Deps.transact`` (TransactWriteItems), which IAM
# authorizes item by item: Put and Update items need PutItem and UpdateItem.
WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem")


@dataclass(frozen=True)
class Shared:
    """The names, the function kit, the tables, the topic and the monitoring."""

    topology: Topology
    kit: FunctionKit
    store: EventStore
    bus: EventBus
    monitoring: Monitoring
    stage: Stage

    def grant(self, function: lambda_.Function | iam.Role, spec: WorkerSpec) -> None:
        """Grant what the declaration says: idempotency, the tables it writes, publishing
        (to a function's role, or to a container task's role)."""
        if spec.idempotent:
            self.store.table(IDEMPOTENCY_TABLE).grant(function, *IDEMPOTENCY_ACTIONS)
        for logical in spec.writes:
            self.store.table(logical).grant(function, *WRITE_ACTIONS)
        if spec.publishes:
            self.bus.topic.grant_publish(function)
            nag.acknowledge(getattr(function, "role", None) or function, nag.KMS_DATA_KEYS)

    def watch(
        self, spec: WorkerSpec, function: lambda_.IFunction, queues: Mapping[str, sqs.IQueue]
    ) -> None:
        """Alarms and a dashboard row for the worker (``queues``: its queues by name)."""
        self.monitoring.watch_worker(spec, function, self.kit.function_name(spec.name), queues)
