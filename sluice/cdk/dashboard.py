"""Dashboard: one row per worker with throughput, errors, DLQ depth and age.

Hand-written rather than with cdk-monitoring-constructs: that library would add a second
jsii package (slower synth, its own aws-cdk-lib version window) and its own alarm naming,
while Sluice needs four graphs per worker and alarms whose descriptions name Sluice's
operator commands; about sixty lines here, derived from the same topology as the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.cdk import defaults
from sluice.runtime.telemetry import metric_dimensions
from sluice.topology import Topology

WIDTH = 6
HEIGHT = 6
PERIOD = Duration.minutes(1)


class Dashboard(Construct):
    """The pipeline's CloudWatch dashboard; each watched worker adds its row."""

    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology) -> None:
        super().__init__(scope, construct_id)
        self.board = cloudwatch.Dashboard(
            self, "Board", dashboard_name=f"{topology.prefix}-pipeline"
        )

    def add_worker(
        self,
        worker: str,
        function: lambda_.IFunction,
        *,
        age: cloudwatch.IMetric,
        dlqs: Sequence[tuple[str, sqs.IQueue]],
    ) -> None:
        """Add ``worker``'s row: what it did, what failed, what waits, how old it is."""
        dlq_depth = [
            queue.metric_approximate_number_of_messages_visible(
                label=name, period=PERIOD, statistic="Maximum"
            )
            for name, queue in dlqs
        ]
        self.board.add_widgets(
            _graph(
                f"{worker}: throughput",
                function.metric_invocations(period=PERIOD, statistic="Sum"),
                _sluice(worker, "Processed"),
                _sluice(worker, "Duplicates"),
            ),
            _graph(
                f"{worker}: errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                _sluice(worker, "Failed"),
                _sluice(worker, "PermanentFailures"),
            ),
            _graph(f"{worker}: DLQ depth", *dlq_depth),
            _graph(
                f"{worker}: age",
                age,
                right=[_sluice(worker, "MessageAge", statistic="Maximum")],
            ),
        )

    def add_container(
        self,
        worker: str,
        *,
        running: cloudwatch.IMetric,
        visible: cloudwatch.IMetric,
        age: cloudwatch.IMetric,
        dlqs: Sequence[tuple[str, sqs.IQueue]],
    ) -> None:
        """A container worker's row: what it did and failed, its tasks and backlog, its DLQs."""
        self.board.add_widgets(
            _graph(
                f"{worker}: throughput",
                _sluice(worker, "Processed"),
                _sluice(worker, "Duplicates"),
                right=[_sluice(worker, "InFlight", statistic="Maximum")],
            ),
            _graph(
                f"{worker}: errors",
                _sluice(worker, "Failed"),
                _sluice(worker, "PermanentFailures"),
                right=[_sluice(worker, "HeartbeatExtensions")],
            ),
            _graph(
                f"{worker}: DLQ depth",
                *[
                    queue.metric_approximate_number_of_messages_visible(
                        label=name, period=PERIOD, statistic="Maximum"
                    )
                    for name, queue in dlqs
                ],
            ),
            _graph(f"{worker}: age", age),
            _graph(f"{worker}: tasks and backlog", running, right=[visible]),
        )


def _graph(
    title: str, *left: cloudwatch.IMetric, right: Sequence[cloudwatch.IMetric] = ()
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title, left=list(left), right=list(right), width=WIDTH, height=HEIGHT
    )


def _sluice(worker: str, name: str, *, statistic: str = "Sum") -> cloudwatch.Metric:
    """A metric the runtime emits (EMF, dimensioned by Powertools' service and the worker)."""
    return cloudwatch.Metric(
        namespace=defaults.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=metric_dimensions(worker),
        period=PERIOD,
        statistic=statistic,
        label=f"sluice {name}",
    )
