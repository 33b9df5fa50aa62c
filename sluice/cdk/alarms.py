"""Alarms: one per failure path, all to the alarms topic, each naming the first command to run."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.cdk import defaults
from sluice.topology import Dlq, DlqKind, Topology

DLQ_MEANING = {
    DlqKind.QUEUE: (
        "{worker} dead-lettered messages from {source}: a permanent failure (reason in the "
        "sluice.failure_reason attribute) or too many failed receives."
    ),
    DlqKind.SUBSCRIPTION: (
        "SNS could not deliver events from {source} to the {worker} queue (queue policy, "
        "encryption or a deleted queue)."
    ),
    DlqKind.STREAM_FAILURE: (
        "{worker} gave up on a batch of the {source} stream (retries or record age "
        "exhausted); the message names the shard and sequence range to replay."
    ),
}


class Alarms(Construct):
    """The alarms topic and the alarm factory the worker constructs call."""

    def __init__(
        self, scope: Construct, construct_id: str, *, topology: Topology, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        # The operator tools assume the app's own prefix; any other must be passed to them.
        self._tool_flags = (
            "" if topology.prefix == topology.app.prefix else f" --prefix {topology.prefix}"
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topology.alarms_topic,
            display_name=f"{topology.prefix} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # CloudWatch publishes to the encrypted topic with this key, for this account only.
        cloudwatch_here = iam.ServicePrincipal("cloudwatch.amazonaws.com").with_conditions(
            {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        )
        key.grant(cloudwatch_here, "kms:Decrypt", "kms:GenerateDataKey*")
        self._action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def dlq(self, queue: sqs.IQueue, dlq: Dlq) -> cloudwatch.Alarm:
        """Anything visible in a DLQ, over one minute."""
        meaning = DLQ_MEANING[dlq.kind].format(worker=dlq.worker, source=dlq.source)
        return self._alarm(
            dlq.name,
            queue.metric_approximate_number_of_messages_visible(
                period=defaults.ALARM_PERIOD, statistic="Maximum"
            ),
            threshold=0,
            periods=1,
            description=f"{meaning} First run: sluice dlq show {dlq.name}{self._tool_flags}",
        )

    def queue_age(self, age: cloudwatch.IMetric, name: str, function: str) -> cloudwatch.Alarm:
        """The oldest message (``age``, seconds) waits too long: the worker is behind."""
        limit = defaults.QUEUE_AGE_THRESHOLD
        return self._alarm(
            f"{function}-queue-age",
            age,
            threshold=limit.to_seconds(),
            periods=defaults.QUEUE_AGE_PERIODS,
            description=(
                f"The oldest message on {name} is older than {limit.to_minutes()} min: "
                f"{function} is behind, throttled or retrying failures. "
                f"First run: {_logs(function)}"
            ),
        )

    def function(self, function: lambda_.IFunction, name: str) -> list[cloudwatch.Alarm]:
        """Failed invocations (whole batch failed, crash, timeout) and throttles."""
        period = defaults.ALARM_PERIOD
        errors = self._alarm(
            f"{name}-errors",
            function.metric_errors(period=period, statistic="Sum"),
            threshold=0,
            periods=1,
            description=(
                f"{name} invocations failed (every record of a batch failed, or the function "
                f"crashed or timed out); their records are retried, then dead-lettered. "
                f"First run: {_logs(name)} --filter-pattern ERROR"
            ),
        )
        throttles = self._alarm(
            f"{name}-throttles",
            function.metric_throttles(period=period, statistic="Sum"),
            threshold=0,
            periods=1,
            description=(
                f"{name} was throttled: concurrency is exhausted and records wait at the "
                f"source. First run: aws lambda get-account-settings"
            ),
        )
        return [errors, throttles]

    def iterator_age(
        self, age: cloudwatch.IMetric, name: str, table: str, max_age: Duration
    ) -> cloudwatch.Alarm:
        """The stream reader (``age``, ms) falls behind; past ``max_age`` records are skipped."""
        limit = defaults.ITERATOR_AGE_THRESHOLD
        return self._alarm(
            f"{name}-iterator-age",
            age,
            threshold=limit.to_milliseconds(),
            periods=defaults.ITERATOR_AGE_PERIODS,
            description=(
                f"{name} is more than {limit.to_seconds()} s behind the {table} stream; "
                f"records older than {max_age.to_seconds()} s go to its failure queue "
                f"unprocessed. First run: {_logs(name)}"
            ),
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        description: str,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm


def _logs(function: str) -> str:
    return f"aws logs tail /aws/lambda/{function} --since 15m"
