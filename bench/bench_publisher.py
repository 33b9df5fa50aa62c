"""The batched publisher against a naive loop of one SNS ``Publish`` per message.

Both sides send the same envelopes, with the same message attributes, to the same SNS
topic on a moto server in a child process (real HTTP; the server's CPU does not compete
with this interpreter's GIL). The topic has no subscribers: the figure is the producer's
own cost, and moto's SQS slows with queue depth, which would blur it.
"""

from __future__ import annotations

from typing import Any

import boto3

from bench.harness import CallCounter, Row, compare, interleaved, scaled
from bench.sides import envelopes
from sluice.local.server import MotoServer
from sluice.publisher import Publisher, attributes
from sluice.runtime import Clients

REGION = "eu-west-1"
PEER = "naive loop: one sns.publish per message"


def naive(sns: Any, topic_arn: str, batch: list[Any]) -> None:
    """What a producer writes without a batching client."""
    for envelope in batch:
        sns.publish(
            TopicArn=topic_arn, Message=envelope.to_json(), MessageAttributes=attributes(envelope)
        )


def run(quick: bool) -> list[Row]:
    """Publish ``count`` envelopes both ways, interleaved; report time and calls per message."""
    count, repeat = (50, 2) if quick else (1000, 7)
    server = MotoServer(region=REGION).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        sns = Clients(session, endpoint_url=server.endpoint_url).sns
        topic = sns.create_topic(Name="bench-events")["TopicArn"]
        counter = CallCounter(sns)
        publisher = Publisher.to_topic(sns, topic)
        batches = [envelopes(count) for _ in range(2 * (repeat + 1))]
        publisher.publish(batches.pop())  # warm both paths (connections, moto's first-call cost)
        naive(sns, topic, batches.pop())
        counter.take()
        ours, theirs = interleaved(
            lambda: _checked(publisher.publish(batches.pop()), count),
            lambda: naive(sns, topic, batches.pop()),
            repeat,
        )
        calls = counter.take()
    finally:
        server.stop()
    our_calls = calls["PublishBatch"] / (count * repeat)
    their_calls = calls["Publish"] / (count * repeat)
    return [
        compare(
            f"Publish {count} envelopes to SNS",
            f"ms/{count} msgs",
            scaled(ours, 1000),
            PEER,
            scaled(theirs, 1000),
            max_ratio=0.2,
            note="ratio <= 0.2 is a throughput of at least 5x; PublishBatch, 10 per call",
        ),
        compare(
            "Publisher API calls per message",
            "calls/msg",
            [our_calls],
            PEER,
            [their_calls],
            max_ratio=0.1,
            note="target 0.1 calls per message (10 envelopes per PublishBatch)",
        ),
    ]


def _checked(result: Any, count: int) -> None:
    if len(result.sent) != count:
        raise RuntimeError(f"the publisher sent {len(result.sent)} of {count}: {result.failed[:3]}")
