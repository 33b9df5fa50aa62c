"""Create the pipeline's resources on any AWS-compatible endpoint (moto), from the topology.

Same logical names, filter policies, redrive policies and stream settings as the CDK app,
and, like ``sluice.cdk.stream_relay``, a failure bucket per stream worker that announces each
new on-failure record on the worker's failure queue. Idempotent: provisioning twice leaves
one of everything.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sluice.app import Table
from sluice.runtime import Clients, Source, WorkerSpec
from sluice.topology import STREAM_FAILURE_RETENTION_DAYS, Topology

DLQ_RETENTION_S = 14 * 24 * 3600
_SIDE_BY_SIDE = 8
"""Resources created at once (the moto server takes one request at a time anyway)."""


@dataclass
class Provisioned:
    """What exists after provisioning, by physical name."""

    topic_arn: str
    tables: dict[str, str]
    queue_urls: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    failure_buckets: dict[str, str] = field(default_factory=dict)
    """A stream worker's failure bucket, by failure queue name."""

    def queue_arn(self, name: str, region: str, account: str) -> str:
        """The ARN of a provisioned queue."""
        return f"arn:aws:sqs:{region}:{account}:{name}"


def provision(clients: Clients, topology: Topology) -> Provisioned:
    """Create tables (with streams and TTL), topics, queues, DLQs and subscriptions.

    Each table and each worker's queues are independent of the others: they are created
    side by side, so startup waits for round trips once, not once per resource.
    """
    db, sqs, sns = clients.dynamodb, clients.sqs, clients.sns
    tables = topology.app.all_tables
    topic_arn = sns.create_topic(Name=topology.topic)["TopicArn"]
    sns.create_topic(Name=topology.alarms_topic)
    done = Provisioned(topic_arn=topic_arn, tables=topology.tables)

    def table(declared: Table) -> None:
        name = topology.table(declared.name)
        _table(db, name, declared.keys, stream=declared.stream)
        if declared.ttl_attribute:
            db.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": declared.ttl_attribute},
            )
        if declared.stream:
            found = db.describe_table(TableName=name)["Table"]
            done.stream_arns[declared.name] = found["LatestStreamArn"]

    def queues(spec: WorkerSpec) -> None:
        if spec.source is not Source.STREAM:
            _worker_queues(clients, topology, spec, topic_arn, done)
            return
        name = topology.stream_failure_queue(spec)
        done.queue_urls[name] = _queue(sqs, name, {"MessageRetentionPeriod": str(DLQ_RETENTION_S)})
        # AWS names the bucket; here it is named after the queue it notifies.
        done.failure_buckets[name] = _failure_bucket(clients, name, done.queue_urls[name])

    def schedule_dlq(name: str) -> None:  # standard queues: the Scheduler's DLQ rule
        done.queue_urls[name] = _queue(sqs, name, {"MessageRetentionPeriod": str(DLQ_RETENTION_S)})

    with ThreadPoolExecutor(_SIDE_BY_SIDE, "provision") as pool:
        jobs = [pool.submit(table, t) for t in tables]
        jobs += [pool.submit(queues, spec) for spec in topology.registry.specs]
        jobs += [
            pool.submit(schedule_dlq, topology.schedule_dlq(s)) for s in topology.app.schedules
        ]
        for job in jobs:
            job.result()  # the first error, raised here
    return done


def _table(db: Any, name: str, keys: tuple[str, ...], *, stream: bool) -> None:
    if name in db.list_tables()["TableNames"]:
        return
    roles = ("HASH", "RANGE")
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    db.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        KeySchema=[{"AttributeName": k, "KeyType": roles[i]} for i, k in enumerate(keys)],
        **extra,
    )


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> str:
    if name.endswith(".fifo"):
        attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false", **attributes}
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _arn(sqs: Any, url: str) -> str:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return str(attrs["QueueArn"])


def _worker_queues(
    clients: Clients, topology: Topology, spec: WorkerSpec, topic_arn: str, done: Provisioned
) -> None:
    sqs, sns = clients.sqs, clients.sns
    names = topology.queues(spec)
    dlq_url = _queue(sqs, names.dlq, {"MessageRetentionPeriod": str(DLQ_RETENTION_S)})
    redrive = {"deadLetterTargetArn": _arn(sqs, dlq_url), "maxReceiveCount": spec.max_receive_count}
    queue_url = _queue(
        sqs,
        names.queue,
        {
            "VisibilityTimeout": str(spec.visibility_timeout_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    done.queue_urls[names.dlq] = dlq_url
    done.queue_urls[names.queue] = queue_url
    if names.subscription_dlq is None:
        return
    sub_dlq_url = _queue(
        sqs, names.subscription_dlq, {"MessageRetentionPeriod": str(DLQ_RETENTION_S)}
    )
    done.queue_urls[names.subscription_dlq] = sub_dlq_url
    attributes = {
        "RawMessageDelivery": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": _arn(sqs, sub_dlq_url)}),
    }
    policy = topology.filter_policy(spec)
    if policy is not None:
        attributes["FilterPolicy"] = json.dumps(policy)
        attributes["FilterPolicyScope"] = "MessageAttributes"
    queue_arn = _arn(sqs, queue_url)
    existing = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    if any(s["Endpoint"] == queue_arn for s in existing):
        return
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )


def _failure_bucket(clients: Clients, name: str, queue_url: str) -> str:
    """A private, encrypted, expiring bucket whose new objects are announced on the queue."""
    s3, sqs = clients.client("s3"), clients.sqs
    if not any(b["Name"] == name for b in s3.list_buckets().get("Buckets", [])):
        where = {} if clients.region == "us-east-1" else {"LocationConstraint": clients.region}
        s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": where} if where else {}))
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-failure-records",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "Expiration": {"Days": STREAM_FAILURE_RETENTION_DAYS},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                }
            ]
        },
    )
    queue_arn = _arn(sqs, queue_url)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                "Resource": queue_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{name}"}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    if s3.get_bucket_notification_configuration(Bucket=name).get("QueueConfigurations"):
        return name
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    _drop_test_events(sqs, queue_url)
    return name


def _drop_test_events(sqs: Any, queue_url: str) -> None:
    """S3 announces a new notification with an ``s3:TestEvent``: a fresh sandbox starts empty.

    On AWS that event stays on the failure queue until ``sluice dlq replay`` deletes it.
    """
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    for message in got.get("Messages", []):
        if '"s3:TestEvent"' in message["Body"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
