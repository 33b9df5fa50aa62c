"""``QueueOps``: dead letters as SQS takes them, and backoffs, against a fake SQS client."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from sluice.runtime import queues
from sluice.runtime.errors import ConfigurationError
from sluice.runtime.queues import (
    DETAIL,
    FAILED_AT,
    DeadLetter,
    QueueOps,
    backoff_s,
)
from sluice.runtime.records import Inbound

ACCOUNT = "123456789012"


def _arn(name: str) -> str:
    return f"arn:aws:sqs:eu-west-1:{ACCOUNT}:{name}"


class Sqs:
    """SQS as ``QueueOps`` calls it: queues by name, each with a DLQ unless ``no_dlq``;
    ``answers`` scripts each SendMessageBatch (an exception raises, a dict is the answer)."""

    def __init__(self, *no_dlq: str, answers: list[Any] | None = None) -> None:
        self.no_dlq = set(no_dlq)
        self.answers = list(answers or [])
        self.sent: list[list[dict[str, Any]]] = []
        self.visibility: list[list[dict[str, Any]]] = []

    def get_queue_url(self, QueueName: str, QueueOwnerAWSAccountId: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        name = QueueUrl.rsplit("/", 1)[-1]
        if name in self.no_dlq:
            return {}  # SQS leaves out "Attributes" when none of those asked for is set
        dlq = "dlq.fifo" if name.endswith(".fifo") else f"{name}-dlq"
        policy = {"deadLetterTargetArn": _arn(dlq), "maxReceiveCount": 5}
        return {"Attributes": {"RedrivePolicy": json.dumps(policy)}}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self.sent.append(Entries)
        answer = self.answers.pop(0) if self.answers else {"Successful": []}
        if isinstance(answer, Exception):
            raise answer
        return answer

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[Any]) -> Any:
        self.visibility.append(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def _letter(
    n: int, queue: str = "work", detail: str = "why", attributes: Any = None, group: Any = None
) -> DeadLetter:
    raw = {"messageId": f"m{n}", "body": f"body {n}", "messageAttributes": attributes or {}}
    inbound = Inbound(f"m{n}", raw, _arn(queue), receive_count=3, group_id=group)
    return DeadLetter(inbound, "poison", detail)


def _inbound(n: int, queue: str = "work") -> Inbound:
    return Inbound(f"m{n}", {"receiptHandle": f"h{n}"}, _arn(queue), receive_count=1)


def _attrs(entry: dict[str, Any]) -> dict[str, Any]:
    return entry["MessageAttributes"]  # type: ignore[no-any-return]


def test_a_dead_letter_keeps_the_type_of_each_attribute_in_either_shape() -> None:
    # GIVEN a record whose attributes come in Lambda's shape, in SendMessage's, or untyped
    sqs = Sqs()
    attributes = {
        "lambda": {"dataType": "Number", "stringValue": "5"},
        "send": {"DataType": "Number.int", "stringValue": "6"},
        "untyped": {"stringValue": "x"},
        "bytes": {"dataType": "Binary", "binaryValue": "AAE="},
    }
    # WHEN it is dead-lettered
    assert QueueOps(sqs, "w").dead_letter([_letter(1, attributes=attributes)]) == []
    # THEN each keeps its type and value; an untyped one is a String
    [[entry]] = sqs.sent
    assert {k: v for k, v in _attrs(entry).items() if not k.startswith("sluice.")} == {
        "lambda": {"DataType": "Number", "StringValue": "5"},
        "send": {"DataType": "Number.int", "StringValue": "6"},
        "untyped": {"DataType": "String", "StringValue": "x"},
        "bytes": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }


def test_a_dead_letter_keeps_as_many_of_its_own_attributes_as_sqs_has_room_for() -> None:
    sqs = Sqs()
    attributes = {f"a{i}": {"dataType": "String", "stringValue": str(i)} for i in range(8)}
    QueueOps(sqs, "w").dead_letter([_letter(1, attributes=attributes)])
    [[entry]] = sqs.sent
    assert len(_attrs(entry)) == 10, "SQS takes ten attributes a message"
    assert [k for k in _attrs(entry) if not k.startswith("sluice.")] == ["a0", "a1", "a2", "a3"]


def test_a_dead_letter_without_detail_says_dash_and_is_stamped_in_utc() -> None:
    sqs = Sqs()
    QueueOps(sqs, "w").dead_letter([_letter(1, detail="")])
    [[entry]] = sqs.sent
    assert _attrs(entry)[DETAIL]["StringValue"] == "-"
    assert _attrs(entry)[FAILED_AT]["StringValue"].endswith("+00:00")


def test_a_fifo_dead_letter_without_a_group_goes_to_the_default_group() -> None:
    sqs = Sqs()
    QueueOps(sqs, "w").dead_letter(
        [_letter(1, queue="work.fifo"), _letter(2, "work.fifo", group="g")]
    )
    [entries] = sqs.sent
    assert [e["MessageGroupId"] for e in entries] == ["default", "g"]
    assert all(len(e["MessageDeduplicationId"]) == 64 for e in entries)


def test_only_the_letters_sqs_refused_are_returned_unsent() -> None:
    sqs = Sqs(answers=[{"Successful": [{"Id": "0"}], "Failed": [{"Id": "1", "Code": "x"}]}])
    letters = [_letter(0), _letter(1)]
    assert QueueOps(sqs, "w").dead_letter(letters) == [letters[1]]


def test_an_answer_without_failures_leaves_nothing_unsent() -> None:
    sqs = Sqs(answers=[{"Successful": [{"Id": "0"}]}])
    assert QueueOps(sqs, "w").dead_letter([_letter(0)]) == []


def test_a_send_that_raises_returns_only_its_own_letters_unsent() -> None:
    # GIVEN eleven letters of one queue: two calls, the first of which fails
    sqs = Sqs(answers=[ConnectionError("down"), {"Successful": [{"Id": "10"}]}])
    letters = [_letter(i) for i in range(11)]
    # WHEN dead-lettered, THEN the first call's ten are unsent, the eleventh is sent
    assert QueueOps(sqs, "w").dead_letter(letters) == letters[:10]
    assert [len(call) for call in sqs.sent] == [10, 1]


def test_a_queue_with_no_dlq_keeps_its_letters_and_the_other_queues_still_send() -> None:
    # GIVEN letters of three queues: the first and third have no DLQ, the second's send fails
    sqs = Sqs("a", "c", answers=[ConnectionError("down")])
    letters = [_letter(1, "a"), _letter(2, "b"), _letter(3, "c"), _letter(4, "d")]
    # WHEN dead-lettered, THEN every letter not sent is returned, and the fourth queue's sent
    assert QueueOps(sqs, "w").dead_letter(letters) == letters[:3]
    assert [[e["MessageBody"] for e in call] for call in sqs.sent] == [["body 2"], ["body 4"]]


def test_a_queue_without_a_redrive_policy_is_a_configuration_error_saying_what_to_do() -> None:
    with pytest.raises(ConfigurationError) as raised:
        QueueOps(Sqs("work"), "w").dlq_url(_arn("work"))
    assert str(raised.value) == (
        f"queue {_arn('work')} has no RedrivePolicy, so permanent failures have nowhere to "
        "go; give it a DLQ (the CDK app and `sluice up` do)"
    )


def test_backoffs_of_many_records_go_ten_per_call_each_once_with_distinct_ids() -> None:
    sqs = Sqs()
    QueueOps(sqs, "w").back_off([_inbound(i) for i in range(23)], base_s=1, cap_s=900)
    assert [len(call) for call in sqs.visibility] == [10, 10, 3]
    handles = [e["ReceiptHandle"] for call in sqs.visibility for e in call]
    assert handles == [f"h{i}" for i in range(23)]
    assert all(len({e["Id"] for e in call}) == len(call) for call in sqs.visibility)


def test_a_record_held_by_a_claim_is_backed_off_until_the_claim_lapses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a claim that lapses 600.5 s from now
    monkeypatch.setattr(queues, "time", SimpleNamespace(time=lambda: 1_000.0))
    sqs = Sqs()
    held = {"m1": 1_000_000 + 600_500}
    # WHEN its record is backed off, THEN it is hidden for the whole 601 s, not the backoff
    QueueOps(sqs, "w").back_off([_inbound(1), _inbound(2)], base_s=1, cap_s=900, held_until_ms=held)
    [[first, second]] = sqs.visibility
    assert first["VisibilityTimeout"] == 601
    assert second["VisibilityTimeout"] <= 1


def test_the_backoff_jitters_over_the_upper_half_of_its_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws: list[tuple[float, float]] = []

    def lowest(low: float, high: float) -> float:
        draws.append((low, high))
        return low

    monkeypatch.setattr(queues, "random", SimpleNamespace(uniform=lowest))
    assert backoff_s(3, 1.0, 900) == 2
    assert draws == [(2.0, 4.0)]
    assert backoff_s(1, 0.5, 900) == 0, "under half a second is no delay at all"
