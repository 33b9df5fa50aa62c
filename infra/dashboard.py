"""Dashboard: one row per worker with throughput, errors, DLQ depth and age."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import defaults
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
        self.board.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{worker}: throughput",
                left=[
                    function.metric_invocations(period=PERIOD, statistic="Sum"),
                    _sluice(worker, "Processed"),
                    _sluice(worker, "Duplicates"),
                ],
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{worker}: errors",
                left=[
                    function.metric_errors(period=PERIOD, statistic="Sum"),
                    function.metric_throttles(period=PERIOD, statistic="Sum"),
                    _sluice(worker, "Failed"),
                    _sluice(worker, "PermanentFailures"),
                ],
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{worker}: DLQ depth",
                left=[
                    queue.metric_approximate_number_of_messages_visible(
                        label=name, period=PERIOD, statistic="Maximum"
                    )
                    for name, queue in dlqs
                ],
                width=WIDTH,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{worker}: age",
                left=[age],
                right=[_sluice(worker, "MessageAge", statistic="Maximum")],
                width=WIDTH,
                height=HEIGHT,
            ),
        )


def _sluice(worker: str, name: str, *, statistic: str = "Sum") -> cloudwatch.Metric:
    """A metric the runtime emits (EMF, dimensioned by Powertools' service and the worker)."""
    return cloudwatch.Metric(
        namespace=defaults.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": worker, "worker": worker},
        period=PERIOD,
        statistic=statistic,
        label=f"sluice {name}",
    )
