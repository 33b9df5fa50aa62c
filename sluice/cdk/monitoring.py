"""Monitoring: the alarms and the dashboard, fed per worker from the topology's DLQ list.

The DLQs alarmed here are exactly ``Topology.dlqs()``, the list ``sluice dlq`` reads, so an
alarm always names a DLQ the operator tools know.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.cdk import defaults
from sluice.cdk.alarms import Alarms
from sluice.cdk.dashboard import Dashboard
from sluice.runtime import Source, WorkerSpec
from sluice.topology import DlqKind, Topology


class Monitoring(Construct):
    """Alarms (to one topic) and one dashboard row per worker."""

    def __init__(
        self, scope: Construct, construct_id: str, *, topology: Topology, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.topology = topology
        self.alarms = Alarms(self, "Alarms", topology=topology, key=key)
        self.dashboard = Dashboard(self, "Dashboard", topology=topology)

    def watch_worker(
        self,
        spec: WorkerSpec,
        function: lambda_.IFunction,
        function_name: str,
        queues: Mapping[str, sqs.IQueue],
    ) -> None:
        """Alarm on the worker's DLQs, its backlog (or stream lag) and its function."""
        dlqs = [
            d
            for d in self.topology.dlqs()
            if d.worker == spec.name and d.kind is not DlqKind.SCHEDULE
        ]
        for dlq in dlqs:
            self.alarms.dlq(queues[dlq.name], dlq)
        self.alarms.function(function, function_name)
        if spec.source is Source.STREAM:
            table = self.topology.table(spec.table or "")
            max_age = Duration.seconds(spec.max_record_age_s)
            age = function.metric("IteratorAge", period=defaults.ALARM_PERIOD, statistic="Maximum")
            self.alarms.iterator_age(age, function_name, table, max_age)
        else:
            name = self.topology.queues(spec).queue
            age = queues[name].metric_approximate_age_of_oldest_message(
                period=defaults.ALARM_PERIOD, statistic="Maximum"
            )
            self.alarms.queue_age(age, name, function_name)
        self.dashboard.add_worker(
            spec.name, function, age=age, dlqs=[(d.name, queues[d.name]) for d in dlqs]
        )

    def watch_container(
        self,
        spec: WorkerSpec,
        service: str,
        cluster: str,
        queues: Mapping[str, sqs.IQueue],
        running: cloudwatch.IMetric,
    ) -> None:
        """A container worker: its DLQs, its queue's age, and backlog with no running task."""
        dlqs = [d for d in self.topology.dlqs() if d.worker == spec.name]
        for dlq in dlqs:
            self.alarms.dlq(queues[dlq.name], dlq)
        name = self.topology.queues(spec).queue
        queue = queues[name]
        age = queue.metric_approximate_age_of_oldest_message(
            period=defaults.ALARM_PERIOD, statistic="Maximum"
        )
        visible = queue.metric_approximate_number_of_messages_visible(
            period=defaults.ALARM_PERIOD, statistic="Maximum"
        )
        self.alarms.queue_age_in_service(age, name, service, cluster)
        self.alarms.backlog_without_tasks(visible, running, service, cluster)
        self.dashboard.add_container(
            spec.name,
            running=running,
            visible=visible,
            age=age,
            dlqs=[(d.name, queues[d.name]) for d in dlqs],
        )

    def watch_function(self, function: lambda_.IFunction, function_name: str) -> None:
        """Errors and throttles of a function that is not a worker (the API function)."""
        self.alarms.function(function, function_name)

    def watch_api(self, api: apigw.RestApi, name: str, access_logs: str) -> None:
        """The gateway's 5XX answers (``access_logs``: its access log group's name)."""
        self.alarms.api_errors(api, name, access_logs)
