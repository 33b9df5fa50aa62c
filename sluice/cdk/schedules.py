"""Schedules: one EventBridge Scheduler schedule per declared ``Schedule``, no Lambda between.

Each schedule calls SNS Publish or SQS SendMessage directly, as a *universal target*
whose Input is ``Schedule.request`` with the slot left as ``<aws.scheduler.scheduled-time>``
(the Scheduler substitutes it when it fires). So the message is a whole envelope whose id
is ``schedule:<name>:<slot>``, with the ``event_type`` attribute SNS filter policies route
on; the sandbox's scheduler sends exactly the same request.

Each schedule has its own role, assumable only by EventBridge Scheduler for this schedule
and allowed exactly the one send (and the topic key's data keys) plus its DLQ; a retry
policy; and a DLQ (a standard queue: the Scheduler refuses FIFO DLQs) that ``sluice dlq``
knows and that is alarmed like every other DLQ.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.cdk import defaults, nag
from sluice.cdk.queues import dead_letter_queue
from sluice.cdk.shared import Shared
from sluice.schedule import SCHEDULED_TIME, Action
from sluice.topology import DlqKind

SCHEDULER = "scheduler.amazonaws.com"


class Schedules(Construct):
    """Every schedule of the app; ``queues`` are the queue workers' queues, by worker name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shared: Shared,
        queues: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        topology = shared.topology
        dlqs = {d.worker: d for d in topology.dlqs() if d.kind is DlqKind.SCHEDULE}
        for schedule in topology.app.schedules:
            dlq_name = topology.schedule_dlq(schedule)
            dlq = dead_letter_queue(self, f"{schedule.name}-dlq", name=dlq_name)
            nag.acknowledge(dlq, nag.IS_A_DLQ)
            name = f"{topology.prefix}-{schedule.name}"
            role = iam.Role(
                self,
                f"{schedule.name}-role",
                description=f"EventBridge Scheduler sends schedule {name}'s event",
                assumed_by=iam.ServicePrincipal(SCHEDULER).with_conditions(
                    {
                        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                        "ArnEquals": {"aws:SourceArn": schedule_arn(name)},
                    }
                ),
            )
            dlq.grant(role, "sqs:SendMessage")
            action, _, group = topology.schedule_route(schedule)
            if action is Action.PUBLISH:
                shared.bus.topic.grant_publish(role)
                nag.acknowledge(role, nag.KMS_DATA_KEYS)
                address = shared.bus.topic.topic_arn
            else:
                queue = queues[schedule.target or ""]
                queue.grant(role, "sqs:SendMessage")
                address = queue.queue_url
            scheduler.CfnSchedule(
                self,
                schedule.name,
                name=name,
                description=schedule.description or f"Fires {schedule.event_type}",
                schedule_expression=schedule.expression,
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=f"arn:{Aws.PARTITION}:scheduler:::aws-sdk:{action.value}",
                    role_arn=role.role_arn,
                    input=Stack.of(self).to_json_string(
                        schedule.request(action, address, SCHEDULED_TIME, group)
                    ),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=defaults.SCHEDULE_RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=int(
                            defaults.SCHEDULE_MAX_EVENT_AGE.to_seconds()
                        ),
                    ),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                        arn=dlq.queue_arn
                    ),
                ),
            )
            shared.monitoring.alarms.dlq(dlq, dlqs[schedule.name])


def schedule_arn(name: str, group: str = "default") -> str:
    """The ARN EventBridge Scheduler gives schedule ``name`` in ``group``."""
    return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{group}/{name}"
