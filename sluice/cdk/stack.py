"""The one stack, ``Sluice``: every construct, wired from the registry and the topology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import defaults
from infra.api import Api
from infra.bundling import code_asset, dependencies_code
from infra.event_bus import EventBus
from infra.event_store import EventStore
from infra.functions import FunctionKit
from infra.monitoring import Monitoring
from infra.queue_worker import QueueWorker
from infra.shared import Shared
from infra.stream_relay import StreamRelay
from sluice.runtime import Source
from sluice.topology import Topology


class SluiceStack(Stack):
    """Tables, topic, one QueueWorker or StreamRelay per registered worker, the API, alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        root: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        store = EventStore(self, "EventStore", topology=topology)
        bus = EventBus(self, "EventBus", topology=topology)
        monitoring = Monitoring(self, "Monitoring", topology=topology, key=bus.key)
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            layer_version_name=f"{topology.prefix}-dependencies",
            description="Runtime dependencies (infra/layer/requirements.txt), built by pip.",
            code=dependencies_code(root),
            compatible_runtimes=[defaults.RUNTIME],
            compatible_architectures=[defaults.ARCHITECTURE],
        )
        kit = FunctionKit(
            code=code_asset(root),
            layer=layer,
            environment=topology.worker_environment(bus.topic.topic_arn),
            prefix=topology.prefix,
        )
        shared = Shared(topology, kit, store, bus, monitoring)
        for spec in topology.registry.specs:
            kind = StreamRelay if spec.source is Source.STREAM else QueueWorker
            kind(self, spec.name, spec=spec, shared=shared)
        Api(self, "Api", shared=shared)
