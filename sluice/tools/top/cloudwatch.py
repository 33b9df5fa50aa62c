"""``sluice top`` on AWS: every worker's figures from ONE CloudWatch GetMetricData call.

Per worker it asks for ``METRICS_PER_WORKER`` metrics: the four counts the runtime emits
(EMF, ``sluice.runtime.telemetry``), Lambda's Duration p50/p95, ConcurrentExecutions,
Errors and Throttles, and the queue's ApproximateAgeOfOldestMessage (a stream worker's
IteratorAge instead), over the last ``WINDOW_S`` at one-minute resolution.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sluice.runtime import Runtime, Source, WorkerSpec
from sluice.runtime.telemetry import NAMESPACE, metric_dimensions
from sluice.tools.top.rows import Figures
from sluice.topology import Topology

PERIOD_S = 60
WINDOW_S = 300
USD_PER_1000_METRICS = 0.01
"""GetMetricData list price: $0.01 per 1,000 metrics requested (us-east-1, CloudWatch pricing)."""
MAX_QUERIES = 500
"""GetMetricData takes at most 500 metric queries per call."""


@dataclass(frozen=True, slots=True)
class Ask:
    """One metric of one worker: which figure it feeds and how it is summed up."""

    figure: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    stat: str
    per_minute: bool = False
    """Counts: the window's sum, per minute. Otherwise: the newest value."""
    scale: float = 1.0


def asks(topology: Topology, spec: WorkerSpec) -> list[Ask]:
    """What one worker's row needs from CloudWatch.

    The runtime's counts come from EMF on either runtime. A function adds Lambda's
    Duration, concurrency, errors and throttles; a container worker its service's running
    task count (Container Insights, on for the cluster) as its concurrency.
    """
    emf = metric_dimensions(spec.name)
    found = [
        Ask("processed", NAMESPACE, "Processed", emf, "Sum", per_minute=True),
        Ask("failed", NAMESPACE, "Failed", emf, "Sum", per_minute=True),
        Ask("dead_lettered", NAMESPACE, "PermanentFailures", emf, "Sum", per_minute=True),
        Ask("duplicates", NAMESPACE, "Duplicates", emf, "Sum", per_minute=True),
    ]
    runtimes = topology.app.runtimes_of(spec)
    if Runtime.LAMBDA in runtimes:
        fn = {"FunctionName": topology.function_name(spec.name)}
        found += [
            Ask("p50_ms", "AWS/Lambda", "Duration", fn, "p50"),
            Ask("p95_ms", "AWS/Lambda", "Duration", fn, "p95"),
            Ask("concurrency", "AWS/Lambda", "ConcurrentExecutions", fn, "Maximum"),
            Ask("errors", "AWS/Lambda", "Errors", fn, "Sum"),
            Ask("throttles", "AWS/Lambda", "Throttles", fn, "Sum"),
        ]
    if Runtime.CONTAINER in runtimes:
        service = {
            "ClusterName": topology.container_cluster,
            "ServiceName": topology.container_service(spec.name),
        }
        found.append(
            Ask("concurrency", "ECS/ContainerInsights", "RunningTaskCount", service, "Maximum")
        )
    if spec.source is Source.STREAM:
        found.append(Ask("age_s", "AWS/Lambda", "IteratorAge", fn, "Maximum", scale=0.001))
    else:
        queue = {"QueueName": topology.queues(spec).queue}
        found.append(Ask("age_s", "AWS/SQS", "ApproximateAgeOfOldestMessage", queue, "Maximum"))
    return found


METRICS_PER_WORKER = 10
"""A function's asks; a container worker's are 6 (a worker on both runtimes asks 11)."""


def cost_per_hour(workers: int, every_s: float) -> float:
    """What watching costs in GetMetricData, in USD per hour, at the list price."""
    metrics = workers * METRICS_PER_WORKER * 3600 / every_s
    return metrics / 1000 * USD_PER_1000_METRICS


def request(
    topology: Topology, specs: Iterable[WorkerSpec], now: datetime
) -> tuple[dict[str, Any], dict[str, tuple[str, Ask]]]:
    """The GetMetricData arguments, and which (worker, ask) each query id answers."""
    queries: list[dict[str, Any]] = []
    index: dict[str, tuple[str, Ask]] = {}
    for w, spec in enumerate(specs):
        for ask in asks(topology, spec):
            query_id = f"w{w}_{ask.figure}" + ("_tasks" if ask.namespace.startswith("ECS") else "")
            index[query_id] = (spec.name, ask)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": ask.namespace,
                            "MetricName": ask.metric,
                            "Dimensions": [
                                {"Name": k, "Value": v} for k, v in ask.dimensions.items()
                            ],
                        },
                        "Period": PERIOD_S,
                        "Stat": ask.stat,
                    },
                    "ReturnData": True,
                }
            )
    if len(queries) > MAX_QUERIES:
        raise ValueError(
            f"{len(queries)} metrics exceed GetMetricData's {MAX_QUERIES} per call: "
            f"watch fewer workers (--worker)"
        )
    args = {
        "MetricDataQueries": queries,
        "StartTime": now - timedelta(seconds=WINDOW_S),
        "EndTime": now,
        "ScanBy": "TimestampDescending",
    }
    return args, index


def parse(response: dict[str, Any], index: dict[str, tuple[str, Ask]]) -> dict[str, Figures]:
    """Each worker's Figures from a GetMetricData answer; an idle count is 0, else None."""
    values: dict[str, dict[str, float | None]] = {}
    for result in response.get("MetricDataResults", []):
        worker, ask = index[result["Id"]]
        points = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=True))
        figure: float | None
        if ask.per_minute:
            figure = round(sum(v for _, v in points) * 60 / WINDOW_S, 2)
        else:
            figure = points[-1][1] * ask.scale if points else None
        figures = values.setdefault(worker, {})
        if figure is not None or ask.figure not in figures:  # a function or a service answers
            figures[ask.figure] = figure
    return {worker: Figures(**figures) for worker, figures in values.items()}


class CloudWatchFigures:
    """Reads every worker's figures with one GetMetricData call."""

    def __init__(self, cloudwatch: Any, topology: Topology) -> None:
        self.cloudwatch = cloudwatch
        self.topology = topology

    def read(self, specs: list[WorkerSpec], now: datetime) -> dict[str, Figures]:
        """One call, all workers."""
        args, index = request(self.topology, specs, now)
        return parse(self.cloudwatch.get_metric_data(**args), index)
