"""The app's one stack: every construct, wired from the app declaration and the topology."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from sluice.cdk import defaults
from sluice.cdk.api import Api
from sluice.cdk.bundling import code_asset, dependencies_code
from sluice.cdk.container_worker import ContainerWorker
from sluice.cdk.event_bus import EventBus
from sluice.cdk.event_store import EventStore
from sluice.cdk.functions import FunctionKit
from sluice.cdk.monitoring import Monitoring
from sluice.cdk.queue_worker import QueueWorker
from sluice.cdk.schedules import Schedules
from sluice.cdk.shared import Shared
from sluice.cdk.stage import PROD, Stage
from sluice.cdk.stream_relay import StreamRelay
from sluice.runtime import Runtime, Source
from sluice.topology import Topology


class SluiceStack(Stack):
    """Tables, topic, one QueueWorker or StreamRelay per registered worker, the API, alarms.

    Everything comes from ``topology.app``: its tables, its workers, its API (none if the
    app declares none) and the project root its code is staged from; ``stage`` decides what
    outlives the stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        stage: Stage = PROD,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        app = topology.app
        store = EventStore(self, "EventStore", topology=topology, removal=stage.data_removal)
        bus = EventBus(self, "EventBus", topology=topology)
        monitoring = Monitoring(self, "Monitoring", topology=topology, key=bus.key)
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            layer_version_name=f"{topology.prefix}-dependencies",
            description="Runtime dependencies (sluice/cdk/layer/requirements.txt), built by pip.",
            code=dependencies_code(app),
            compatible_runtimes=[defaults.RUNTIME],
            compatible_architectures=[defaults.ARCHITECTURE],
        )
        kit = FunctionKit(
            code=code_asset(app),
            layer=layer,
            environment=topology.worker_environment(bus.topic.topic_arn),
            prefix=topology.prefix,
            tracing=app.tracing,
        )
        shared = Shared(topology, kit, store, bus, monitoring, stage)
        queues = {}
        for spec in topology.registry.specs:
            kind: type[StreamRelay | QueueWorker | ContainerWorker] = (
                StreamRelay if spec.source is Source.STREAM else QueueWorker
            )
            if spec.runtime is Runtime.CONTAINER:
                kind = ContainerWorker
            built = kind(self, spec.name, spec=spec, shared=shared)
            if isinstance(built, QueueWorker | ContainerWorker):
                queues[spec.name] = built.queue
        if app.schedules:
            Schedules(self, "Schedules", shared=shared, queues=queues)
        if app.api is not None:
            Api(self, "Api", declaration=app.api, shared=shared)
        monitoring.alarms.allow_alarms()
