"""The publisher's calls against a scripted client: retries, refusals, FIFO blocking, logs.

The client answers each PublishBatch / SendMessageBatch from a script, so every test states
exactly which calls were made and what the caller gets back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sluice.publisher import Failed, Publisher, RetryPolicy, Sent
from tests.factories import payment, placed

TOPIC = "arn:aws:sns:eu-west-1:123456789012:events"
FIFO_QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/ledger.fifo"
Step = Callable[[list[dict[str, Any]]], dict[str, Any]] | Exception


def accept(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Successful": [{"Id": e["Id"], "MessageId": f"m-{e['Id']}"} for e in entries]}


def refuse(code: str, sender_fault: bool = False) -> Step:
    def answer(entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Failed": [{"Id": e["Id"], "Code": code, "SenderFault": sender_fault} for e in entries]
        }

    return answer


class Client:
    """SNS and SQS batch calls answered from a script (the last step repeats)."""

    def __init__(self, *script: Step) -> None:
        self.script = list(script)
        self.calls: list[list[dict[str, Any]]] = []
        self.addresses: list[str] = []

    def _answer(self, address: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(entries)
        self.addresses.append(address)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step(entries)

    def publish_batch(self, *, TopicArn: str, PublishBatchRequestEntries: list[Any]) -> Any:
        return self._answer(TopicArn, PublishBatchRequestEntries)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[Any]) -> Any:
        return self._answer(QueueUrl, Entries)


class Fixed:
    """An rng whose jitter is always ``share`` of the ceiling, recording each ceiling."""

    def __init__(self, share: float = 0.5) -> None:
        self.share = share
        self.ceilings: list[float] = []

    def uniform(self, low: float, high: float) -> float:
        assert low == 0
        self.ceilings.append(high)
        return high * self.share


def _topic(client: Client, **options: Any) -> Publisher:
    return Publisher.to_topic(client, TOPIC, sleep=lambda _: None, **options)


def test_the_pause_between_tries_doubles_from_the_base_up_to_the_cap() -> None:
    rng, policy = Fixed(), RetryPolicy(attempts=9, base_s=0.05, cap_s=2.0)
    pauses = [policy.delay(attempt, rng) for attempt in range(1, 9)]  # type: ignore[arg-type]
    assert rng.ceilings == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert pauses == [c / 2 for c in rng.ceilings]


def test_an_entry_refused_every_time_is_tried_exactly_the_policys_attempts() -> None:
    client = Client(refuse("InternalError"))
    result = _topic(client, retry=RetryPolicy(attempts=3)).publish([placed("o-1")])
    assert len(client.calls) == 3
    assert result.failed == [Failed(result.failed[0].envelope_id, "InternalError", "", False, 3)]


def test_a_queue_publisher_sends_message_batches_to_its_url() -> None:
    client = Client(accept)
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/work"
    result = Publisher.to_queue(client, url).publish([placed("o-1")])
    assert client.addresses == [url]
    assert "MessageBody" in client.calls[0][0]
    assert [s.message_id for s in result.sent] == ["m-0"]


def test_each_retry_is_logged_with_its_destination_entries_codes_attempt_and_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Client(refuse("Throttling"), refuse("Throttling"), accept)
    log = logging.getLogger("tests.publisher")
    publisher = _topic(client, rng=Fixed(0.123456), logger=log)
    with caplog.at_level(logging.WARNING, logger="tests.publisher"):
        publisher.publish([placed("o-1"), placed("o-2")])
    retries = [r for r in caplog.records if r.name == "tests.publisher"]
    assert [r.getMessage() for r in retries] == ["publish entries failed; retrying"] * 2
    assert [
        (r.destination, r.entries, r.codes, r.attempt, r.pause_s)  # type: ignore[attr-defined]
        for r in retries
    ] == [("events", 2, ["Throttling"], 1, 0.006), ("events", 2, ["Throttling"], 2, 0.012)]


def test_a_whole_call_error_is_the_refusal_of_each_entry_and_retried_when_transient() -> None:
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")
    client = Client(throttled, accept)
    result = _topic(client).publish([placed("o-1")])
    assert (len(client.calls), len(result.sent), result.failed) == (2, 1, [])


def test_a_whole_call_error_that_is_the_senders_fault_is_reported_with_its_message() -> None:
    denied = ClientError({"Error": {"Code": "AuthorizationError", "Message": "no"}}, "Publish")
    client = Client(denied)
    envelope = placed("o-1")
    result = _topic(client).publish([envelope])
    assert len(client.calls) == 1
    assert result.failed == [Failed(envelope.id, "AuthorizationError", "no", True, 1)]


def test_a_call_error_without_code_or_message_is_unknown_and_final() -> None:
    client = Client(ClientError({}, "Publish"))
    envelope = placed("o-1")
    assert _topic(client).publish([envelope]).failed == [
        Failed(envelope.id, "Unknown", "", True, 1)
    ]


def test_a_call_that_never_got_an_answer_is_retried_and_named_by_its_error() -> None:
    lost = EndpointConnectionError(endpoint_url="https://sns.example")
    envelope = placed("o-1")
    result = _topic(Client(lost), retry=RetryPolicy(attempts=2)).publish([envelope])
    assert result.failed == [Failed(envelope.id, "EndpointConnectionError", str(lost), False, 2)]


def test_answers_without_a_successful_or_failed_list_are_read_as_empty() -> None:
    envelope = placed("o-1")
    client = Client(lambda entries: {"Failed": [{"Id": "0", "Code": "X", "SenderFault": True}]})
    assert _topic(client).publish([envelope]).failed == [Failed(envelope.id, "X", "", True, 1)]
    assert _topic(Client(lambda entries: {})).publish([envelope]).failed == []


def test_a_fifo_send_reports_each_messages_sequence_number() -> None:
    def sequenced(entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Successful": [
                {"Id": e["Id"], "MessageId": "m-1", "SequenceNumber": "1000"} for e in entries
            ]
        }

    envelope = payment("acct-1", 5)
    publisher = Publisher.to_queue(
        Client(sequenced), FIFO_QUEUE, group_by={"payment.captured": "account_id"}
    )
    assert publisher.publish([envelope]).sent == [Sent(envelope.id, "m-1", "1000")]


def test_a_buffered_fifo_envelope_is_grouped_by_its_data_field() -> None:
    client = Client(accept)
    with Publisher.to_queue(
        client, FIFO_QUEUE, group_by={"payment.captured": "account_id"}
    ) as publisher:
        publisher.add(payment("acct-7", 5))
    assert [e["MessageGroupId"] for e in client.calls[0]] == ["acct-7"]


def test_a_retry_inside_a_group_holds_every_later_message_of_the_group_back() -> None:
    # GIVEN three payments of one account; the first is throttled once
    first, second, third = (payment("acct-1", n) for n in (1, 2, 3))
    client = Client(refuse("Throttling"), accept)
    publisher = Publisher.to_queue(
        client, FIFO_QUEUE, group_by={"payment.captured": "account_id"}, sleep=lambda _: None
    )
    # WHEN they are published in one go
    result = publisher.publish([first, second, third])
    # THEN neither later one went out before the first was through: the order holds
    bodies = [[e["MessageDeduplicationId"] for e in call] for call in client.calls]
    assert bodies == [[first.id], [first.id], [second.id], [third.id]]
    assert [s.envelope_id for s in result.sent] == [first.id, second.id, third.id]


def test_a_group_refused_for_good_stays_blocked_with_a_reason_until_released(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a FIFO publisher whose first message of acct-1 is refused for good
    first, later = payment("acct-1", 1), payment("acct-1", 2)
    other = payment("acct-2", 3)
    client = Client(refuse("InvalidParameterValue", sender_fault=True), accept)
    log = logging.getLogger("tests.publisher")
    publisher = Publisher.to_queue(
        client, FIFO_QUEUE, group_by={"payment.captured": "account_id"}, logger=log
    )
    with caplog.at_level(logging.ERROR, logger="tests.publisher"):
        publisher.publish([first])
    # THEN the group is blocked by that envelope, and the block is logged once
    assert publisher.blocked_groups == {"acct-1": first.id}
    [blocked] = [r for r in caplog.records if r.name == "tests.publisher"]
    assert blocked.getMessage() == "FIFO group blocked: nothing more of it is sent until release()"
    assert (blocked.destination, blocked.group, blocked.envelope_id, blocked.code) == (  # type: ignore[attr-defined]
        "ledger.fifo",
        "acct-1",
        first.id,
        "InvalidParameterValue",
    )
    # AND a later envelope of the group fails unsent, saying why; another group goes out
    result = publisher.publish([later, other])
    assert result.failed == [
        Failed(
            later.id,
            "GroupBlocked",
            f"not sent: envelope {first.id} of group acct-1 was refused; deal with it, then "
            "call release('acct-1')",
            True,  # not retried: only release() sends the group again
            1,
        )
    ]
    assert [s.envelope_id for s in result.sent] == [other.id]
    assert publisher.blocked_groups == {"acct-1": first.id}
    # AND once released, the group is sent again (releasing a group never blocked is harmless)
    publisher.release("acct-1")
    publisher.release("acct-9")
    assert [s.envelope_id for s in publisher.publish([later]).sent] == [later.id]


@pytest.mark.parametrize("kind", ["topic", "queue"])
def test_a_publisher_pauses_with_the_sleep_and_the_jitter_it_was_given(kind: str) -> None:
    # GIVEN a publisher given its own sleep and randomness, whose first call is throttled
    client, rng = Client(refuse("Throttling"), accept), Fixed(0.5)
    pauses: list[float] = []
    options: dict[str, Any] = {"sleep": pauses.append, "rng": rng}
    if kind == "topic":
        publisher = Publisher.to_topic(client, TOPIC, **options)
    else:
        publisher = Publisher.to_queue(client, FIFO_QUEUE.replace(".fifo", ""), **options)
    # WHEN it publishes, THEN it paused once, with its sleep, for half the first ceiling
    assert len(publisher.publish([placed("o-1")]).sent) == 1
    assert (pauses, rng.ceilings) == ([0.025], [0.05])
