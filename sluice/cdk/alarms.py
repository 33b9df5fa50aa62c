"""Alarms: one per failure path, all to the alarms topic, each naming the first command to run.

The topic's policy lets CloudWatch publish for exactly this stack's alarms (by ARN and
account): ``enforce_ssl`` writes a topic policy, and a topic policy replaces the default
one that would otherwise have let the account's alarms in. ``allow_alarms()`` adds that
statement once every alarm exists.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice import thresholds
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
    DlqKind.SCHEDULE: (
        "EventBridge Scheduler could not deliver schedule {worker}'s event to {source} after "
        "its retries (role, key or a missing target; ERROR_CODE says which)."
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
        key.grant(_cloudwatch_here(), "kms:Decrypt", "kms:GenerateDataKey*")
        self._action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def allow_alarms(self) -> None:
        """Let CloudWatch publish to the topic for this stack's alarms, and nothing else."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsPublish",
                principals=[_cloudwatch_here()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": [a.alarm_arn for a in self.alarms]},
                },
            )
        )

    def dlq(self, queue: sqs.IQueue, dlq: Dlq) -> list[cloudwatch.Alarm]:
        """Anything visible in a DLQ over a minute, and a dead letter left there too long.

        Missing data keeps the state: SQS stops sending an idle queue's metrics, and a DLQ
        nobody touches is the one whose alarm must not clear itself.
        """
        meaning = DLQ_MEANING[dlq.kind].format(worker=dlq.worker, source=dlq.source)
        first = f"First run: sluice dlq show {dlq.name}{self._tool_flags}"
        visible = self._alarm(
            dlq.name,
            queue.metric_approximate_number_of_messages_visible(
                period=defaults.ALARM_PERIOD, statistic="Maximum"
            ),
            threshold=thresholds.DLQ_VISIBLE,
            periods=1,
            description=f"{meaning} {first}",
            missing=cloudwatch.TreatMissingData.IGNORE,
        )
        limit = defaults.DLQ_AGE_THRESHOLD
        age = self._alarm(
            f"{dlq.name}-age",
            queue.metric_approximate_age_of_oldest_message(
                period=defaults.ALARM_PERIOD, statistic="Maximum"
            ),
            threshold=limit.to_seconds(),
            periods=1,
            description=(
                f"A dead letter has waited in {dlq.name} for over {limit.to_hours()} h "
                f"unhandled (it expires after 14 days). {meaning} {first}"
            ),
            missing=cloudwatch.TreatMissingData.IGNORE,
        )
        return [visible, age]

    def queue_age(self, age: cloudwatch.IMetric, name: str, function: str) -> cloudwatch.Alarm:
        """The oldest message (``age``, seconds) waits too long: the worker is behind."""
        behind = f"{function} is behind, throttled or retrying failures"
        return self._queue_age(age, name, function, behind, _logs(function))

    def queue_age_in_service(
        self, age: cloudwatch.IMetric, name: str, service: str, cluster: str
    ) -> cloudwatch.Alarm:
        """A container worker's oldest message waits too long: its tasks are behind."""
        behind = f"the {service} tasks are behind, at their max_tasks or retrying failures"
        return self._queue_age(age, name, service, behind, _service(cluster, service))

    def _queue_age(
        self, age: cloudwatch.IMetric, name: str, owner: str, behind: str, first: str
    ) -> cloudwatch.Alarm:
        limit = defaults.QUEUE_AGE_THRESHOLD
        return self._alarm(
            f"{owner}-queue-age",
            age,
            threshold=limit.to_seconds(),
            periods=defaults.QUEUE_AGE_PERIODS,
            description=(
                f"The oldest message on {name} is older than {limit.to_minutes()} min: "
                f"{behind}. First run: {first}"
            ),
        )

    def backlog_without_tasks(
        self, visible: cloudwatch.IMetric, running: cloudwatch.IMetric, service: str, cluster: str
    ) -> cloudwatch.Alarm:
        """Messages wait and no task of the service runs (crash loop, image, quota)."""
        stranded = cloudwatch.MathExpression(
            expression="IF(visible > 0 AND FILL(running, 0) < 1, 1, 0)",
            using_metrics={"visible": visible, "running": running},
            period=defaults.ALARM_PERIOD,
            label="backlog with no running task",
        )
        return self._alarm(
            f"{service}-no-tasks",
            stranded,
            threshold=1,
            periods=defaults.QUEUE_AGE_PERIODS,
            description=(
                f"Messages wait for {service} but none of its tasks runs: tasks fail to start "
                f"or crash (image, health check, quota). First run: "
                f"{_service(cluster, service)}"
            ),
            missing=cloudwatch.TreatMissingData.BREACHING,
        )

    def function(self, function: lambda_.IFunction, name: str) -> list[cloudwatch.Alarm]:
        """Failed invocations (whole batch failed, crash, timeout) and throttles."""
        period = defaults.ALARM_PERIOD
        errors = self._alarm(
            f"{name}-errors",
            function.metric_errors(period=period, statistic="Sum"),
            threshold=thresholds.FUNCTION_ERRORS,
            periods=1,
            description=(
                f"{name} invocations failed: the function crashed or timed out (or, reading "
                f"a stream, every record of a batch failed); records retried one by one "
                f"are not errors. First run: {_logs(name)} --filter-pattern ERROR"
            ),
        )
        throttles = self._alarm(
            f"{name}-throttles",
            function.metric_throttles(period=period, statistic="Sum"),
            threshold=thresholds.FUNCTION_THROTTLES,
            periods=1,
            description=(
                f"{name} was throttled: concurrency is exhausted and records wait at the "
                f"source. First run: aws lambda get-account-settings"
            ),
        )
        return [errors, throttles]

    def api_errors(self, api: apigw.RestApi, name: str, access_logs: str) -> cloudwatch.Alarm:
        """The gateway answered 5XX: an answer the client cannot act on, whoever caused it."""
        return self._alarm(
            f"{name}-5xx",
            api.metric_server_error(period=defaults.ALARM_PERIOD, statistic="Sum"),
            threshold=0,
            periods=1,
            description=(
                f"The {name} API answered 5XX: its function crashed, timed out or was "
                "throttled, or the gateway could not invoke it (bad input is a 4XX, never a "
                f"5XX). First run: aws logs tail {access_logs} --since 15m "
                "--filter-pattern '{ $.status = 5* }'"
            ),
        )

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
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
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
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm


def _cloudwatch_here() -> iam.IPrincipal:
    """CloudWatch, acting for this account only."""
    return iam.ServicePrincipal("cloudwatch.amazonaws.com").with_conditions(
        {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
    )


def _service(cluster: str, service: str) -> str:
    return f"aws ecs describe-services --cluster {cluster} --services {service}"


def _logs(function: str) -> str:
    return f"aws logs tail /aws/lambda/{function} --since 15m"
