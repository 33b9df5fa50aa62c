"""The batched publisher against moto: batching, limits, retries, FIFO ids, typed results."""

from __future__ import annotations

import json
import random
from typing import Any

import boto3
import pytest

from sluice.core import Envelope
from sluice.publisher import (
    GroupingError,
    OversizeError,
    Publisher,
    PublishFailedError,
    RetryPolicy,
)
from tests.factories import payment, placed
from tests.functional.faults import CallFaults, EntryFaults


class Pauses(list[float]):
    """Records the backoff pauses instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sqs(moto: None) -> Any:
    return boto3.client("sqs")


def _queue(sqs: Any, name: str) -> str:
    attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while got := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    ).get("Messages", []):
        found += got
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _attrs(message: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        name: (value["DataType"], value["StringValue"])
        for name, value in message["MessageAttributes"].items()
    }


def _publisher(sqs: Any, url: str, **options: Any) -> tuple[Publisher, Pauses]:
    pauses = Pauses()
    return Publisher.to_queue(sqs, url, sleep=pauses, rng=random.Random(7), **options), pauses


def test_25_envelopes_take_3_calls_and_arrive_with_their_attributes(sqs: Any) -> None:
    # GIVEN a queue and 25 envelopes
    url = _queue(sqs, "orders")
    calls = EntryFaults(sqs, "SendMessageBatch", fails=lambda _: False)
    envelopes = [placed() for _ in range(25)]
    publisher, pauses = _publisher(sqs, url)

    # WHEN they are published
    result = publisher.publish(envelopes)

    # THEN three calls of 10, 10 and 5 carried them, and every one arrived intact
    assert [len(c) for c in calls.calls] == [10, 10, 5]
    assert result.calls == 3 and result.ok and pauses == []
    assert [s.envelope_id for s in result.sent] == [e.id for e in envelopes]
    got = {json.loads(m["Body"])["id"]: m for m in _drain(sqs, url)}
    assert sorted(got) == sorted(e.id for e in envelopes)
    first = envelopes[0]
    assert json.loads(got[first.id]["Body"]) == first.to_dict()
    assert _attrs(got[first.id]) == {
        "event_type": ("String", "order.placed"),
        "event_version": ("Number", "1"),
        "correlation_id": ("String", first.correlation_id),
    }


def test_a_topic_gets_publish_batch_calls_of_ten(sqs: Any) -> None:
    # GIVEN a topic with a raw-delivery queue subscribed
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    url = _queue(sqs, "audit")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    calls = EntryFaults(sns, "PublishBatch", fails=lambda _: False)
    envelopes = [placed() for _ in range(12)]

    # WHEN 12 envelopes are published to the topic
    result = Publisher.to_topic(sns, topic).publish(envelopes)

    # THEN two PublishBatch calls delivered all 12, attributes included
    assert [len(c) for c in calls.calls] == [10, 2]
    assert result.calls == 2 and len(result.sent) == 12 and result.failed == []
    delivered = _drain(sqs, url)
    assert sorted(json.loads(m["Body"])["id"] for m in delivered) == sorted(e.id for e in envelopes)
    assert {_attrs(m)["event_type"] for m in delivered} == {("String", "order.placed")}


def test_batches_respect_the_256_kib_total(sqs: Any) -> None:
    # GIVEN five envelopes of about 100 KB: two fit in one batch, three do not
    url = _queue(sqs, "blobs")
    calls = EntryFaults(sqs, "SendMessageBatch", fails=lambda _: False)
    envelopes = [Envelope.new("blob.stored", {"blob": "x" * 100_000}, source="t") for _ in range(5)]

    # WHEN they are published
    result, _ = _publisher(sqs, url)[0].publish(envelopes), None

    # THEN each call stays under the per-batch limit
    assert [len(c) for c in calls.calls] == [2, 2, 1]
    assert len(result.sent) == 5 and len(_drain(sqs, url)) == 5


def test_an_oversize_envelope_is_refused_before_any_call(sqs: Any) -> None:
    # GIVEN nine small envelopes and one of 300 KB
    url = _queue(sqs, "orders")
    calls = EntryFaults(sqs, "SendMessageBatch", fails=lambda _: False)
    big = Envelope.new("blob.stored", {"blob": "x" * 300_000}, source="t")
    envelopes = [*(placed() for _ in range(9)), big]

    # WHEN they are published, THEN a clear error names it and nothing was sent
    with pytest.raises(OversizeError) as caught:
        _publisher(sqs, url)[0].publish(envelopes)
    size = caught.value.size
    assert str(caught.value) == (
        f"envelope {big.id} is {size} bytes with its attributes; the limit is 262144 bytes "
        "(256 KiB). Store the payload elsewhere (e.g. S3) and send a reference."
    )
    assert size > 300_000
    assert calls.calls == [] and _drain(sqs, url) == []


def test_failed_entries_are_retried_with_jittered_backoff_until_accepted(sqs: Any) -> None:
    # GIVEN two of ten entries refused (InternalError) on their first two tries
    url = _queue(sqs, "orders")
    envelopes = [placed() for _ in range(10)]
    unlucky = {envelopes[3].id, envelopes[7].id}
    faults = EntryFaults(
        sqs, "SendMessageBatch", fails=lambda body: json.loads(body)["id"] in unlucky, times=2
    )
    publisher, pauses = _publisher(sqs, url, retry=RetryPolicy(attempts=4, base_s=0.1))

    # WHEN they are published
    result = publisher.publish(envelopes)

    # THEN only the refused entries were sent again, after growing jittered pauses
    assert [len(c) for c in faults.calls] == [10, 2, 2]
    assert result.ok and result.calls == 3 and len(result.sent) == 10
    assert len(pauses) == 2 and 0 <= pauses[0] <= 0.1 and 0 <= pauses[1] <= 0.2
    assert len(_drain(sqs, url)) == 10


def test_what_still_fails_comes_back_typed_and_sender_faults_are_not_retried(sqs: Any) -> None:
    # GIVEN one entry that always fails (server side) and one the sender got wrong
    url = _queue(sqs, "orders")
    envelopes = [placed() for _ in range(5)]
    server, sender = envelopes[1].id, envelopes[2].id
    EntryFaults(sqs, "SendMessageBatch", fails=lambda b: json.loads(b)["id"] == server)
    EntryFaults(
        sqs,
        "SendMessageBatch",
        fails=lambda b: json.loads(b)["id"] == sender,
        code="InvalidParameterValue",
        sender_fault=True,
    )
    publisher, pauses = _publisher(sqs, url, retry=RetryPolicy(attempts=3))

    # WHEN they are published
    result = publisher.publish(envelopes)

    # THEN the result names both failures with their codes and tries; nothing is swallowed
    failed = sorted(result.failed, key=lambda f: f.attempts)
    assert [(f.envelope_id, f.code, f.sender_fault, f.attempts) for f in failed] == [
        (sender, "InvalidParameterValue", True, 1),
        (server, "InternalError", False, 3),
    ]
    assert result.calls == 3 and len(result.sent) == 3 and len(pauses) == 2
    assert sorted(result.failed_ids) == sorted([server, sender])
    assert len(_drain(sqs, url)) == 3


def test_throttled_calls_are_retried_and_other_call_errors_are_reported(sqs: Any) -> None:
    # GIVEN a queue that throttles the first two calls
    url = _queue(sqs, "orders")
    CallFaults(sqs, "SendMessageBatch", times=2, code="Throttling")
    publisher, pauses = _publisher(sqs, url)

    # WHEN three envelopes are published, THEN the third call gets them through
    result = publisher.publish([placed() for _ in range(3)])
    assert result.ok and result.calls == 3 and len(pauses) == 2

    # AND an error that retrying cannot fix is reported at once, per envelope
    gone = Publisher.to_queue(sqs, url.replace("orders", "missing"), sleep=Pauses())
    lost = gone.publish([placed()])
    assert [(f.code, f.attempts) for f in lost.failed] == [
        ("AWS.SimpleQueueService.NonExistentQueue", 1)
    ]


def test_fifo_sets_the_group_from_the_data_and_a_deterministic_dedup_id(sqs: Any) -> None:
    # GIVEN a FIFO queue, payments of two accounts, and group_by account_id
    url = _queue(sqs, "ledger.fifo")
    envelopes = [payment("acct-a", 100), payment("acct-b", 5), payment("acct-a", 7)]
    publisher, _ = _publisher(sqs, url, group_by={"payment.captured": "account_id"})

    # WHEN they are published twice (a producer retrying after a crash)
    first = publisher.publish(envelopes)
    again = publisher.publish(envelopes)

    # THEN each message carries its account as group and its envelope id as dedup id,
    # and the second send was deduplicated
    assert first.ok and again.ok
    got = _drain(sqs, url)
    by_group: dict[str, list[tuple[str, str]]] = {}
    for m in got:
        ids = (m["Attributes"]["MessageDeduplicationId"], json.loads(m["Body"])["id"])
        by_group.setdefault(m["Attributes"]["MessageGroupId"], []).append(ids)
    a, b, a2 = (e.id for e in envelopes)
    assert by_group == {"acct-a": [(a, a), (a2, a2)], "acct-b": [(b, b)]}


def test_fifo_without_a_group_field_fails_before_any_call(sqs: Any) -> None:
    url = _queue(sqs, "ledger.fifo")
    calls = EntryFaults(sqs, "SendMessageBatch", fails=lambda _: False)
    with pytest.raises(GroupingError, match=r"no group_by field is set for 'payment\.captured'"):
        _publisher(sqs, url)[0].publish([payment("acct-a", 1)])
    with pytest.raises(GroupingError, match="has no data field 'customer' to group by"):
        _publisher(sqs, url, group_by={"payment.captured": "customer"})[0].publish(
            [payment("acct-a", 1)]
        )
    assert calls.calls == []


def test_the_context_manager_sends_full_batches_and_flushes_on_exit(sqs: Any) -> None:
    # GIVEN a publisher used as a context manager
    url = _queue(sqs, "orders")
    calls = EntryFaults(sqs, "SendMessageBatch", fails=lambda _: False)
    publisher, _ = _publisher(sqs, url)

    # WHEN 23 envelopes are added
    with publisher:
        for _ in range(23):
            publisher.add(placed())
        sent_inside = [len(c) for c in calls.calls]

    # THEN full batches left while adding, and the rest on exit
    assert sent_inside == [10, 10]
    assert [len(c) for c in calls.calls] == [10, 10, 3]
    assert publisher.result.ok and len(publisher.result.sent) == 23
    assert len(_drain(sqs, url)) == 23


def test_the_context_manager_raises_if_anything_was_not_published(sqs: Any) -> None:
    url = _queue(sqs, "orders")
    doomed = placed()
    EntryFaults(sqs, "SendMessageBatch", fails=lambda b: json.loads(b)["id"] == doomed.id)
    publisher, _ = _publisher(sqs, url, retry=RetryPolicy(attempts=2))
    with pytest.raises(PublishFailedError) as caught, publisher:
        publisher.add(placed())
        publisher.add(doomed)
    assert str(caught.value) == (
        "1 of 2 envelopes were not published (InternalError); see .result.failed"
    )
    assert caught.value.result.failed_ids == [doomed.id]


def test_fifo_retries_never_overtake_later_messages_of_the_same_group(sqs: Any) -> None:
    # GIVEN eleven payments; the tenth (acct-a) is refused once, the eleventh is acct-a too
    url = _queue(sqs, "ledger.fifo")
    envelopes = [payment(f"acct-{n}", 1) for n in range(9)]
    envelopes += [payment("acct-a", 10), payment("acct-a", 11)]
    refused = envelopes[9].id
    faults = EntryFaults(
        sqs, "SendMessageBatch", fails=lambda b: json.loads(b)["id"] == refused, times=1
    )
    publisher, _ = _publisher(sqs, url, group_by={"payment.captured": "account_id"})

    # WHEN they are published
    result = publisher.publish(envelopes)

    # THEN the eleventh waited for the tenth (a call carries one message of a group), and
    # acct-a's order held
    assert [len(c) for c in faults.calls] == [10, 1, 1]
    assert result.ok and len(result.sent) == 11
    acct_a = [
        json.loads(m["Body"])["id"]
        for m in _drain(sqs, url)
        if m["Attributes"]["MessageGroupId"] == "acct-a"
    ]
    assert acct_a == [envelopes[9].id, envelopes[10].id]
