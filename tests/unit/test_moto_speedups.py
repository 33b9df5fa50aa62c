"""Each speedup in ``sluice.local.moto_speedups`` rests on moto code read at one version.

A moto upgrade that changes any of that code fails here, naming the speedup to re-read
before the fingerprint is updated. The sandbox, chaos and bad-input suites prove the
speedups keep moto's results; these tests prove they still patch what they were written
against.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.core import utils
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import ExpressionAttributeValue
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.responses import DynamoHandler

from sluice.local import moto_speedups
from sluice.local.moto_speedups import PINS, fingerprint

# Read at collection, before this process has installed anything over the pinned code.
FOUND = {target: fingerprint(target) for pins in PINS.values() for target, _ in pins}


@pytest.mark.parametrize(
    ("speedup", "target", "pin"),
    [(speedup, target, pin) for speedup, pins in PINS.items() for target, pin in pins],
    ids=[f"{speedup}:{target}" for speedup, pins in PINS.items() for target, _ in pins],
)
def test_the_patched_moto_code_is_the_code_the_speedup_was_written_for(
    speedup: str, target: str, pin: str
) -> None:
    # a deliberate moto upgrade fails here until each changed speedup is re-read
    assert FOUND[target] == pin, (
        f"moto changed {target}: re-read the {speedup!r} "
        "speedup in sluice/local/moto_speedups.py against it, then update its pin"
    )


def test_a_speedup_whose_moto_code_changed_is_skipped_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN one speedup whose pinned code no longer matches, and one whose code is gone
    target, _ = PINS["routing"][0]
    monkeypatch.setitem(PINS, "routing", ((target, "0000000000000000"),))
    monkeypatch.setitem(PINS, "gone", (("moto.no_such_module.thing", "0000000000000000"),))
    called: list[str] = []
    speedups = {  # a class's pin reads its file, so it holds even once this process patched it
        "condition tokens": lambda: called.append("condition tokens"),
        "routing": lambda: called.append("routing"),
        "gone": lambda: called.append("gone"),
    }
    # WHEN they are installed
    with caplog.at_level("WARNING", logger=moto_speedups.__name__):
        applied = moto_speedups.apply_checked(speedups)
    # THEN only the unchanged one patches, and each other says why, once, on one line
    assert applied == called == ["condition tokens"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert all("\n" not in w and "never wrong" in w for w in warnings)
    assert f"'routing' skipped: moto {moto_version()} changed {target}" in warnings[0]
    assert "'gone' skipped" in warnings[1] and "moto.no_such_module.thing" in warnings[1]


def test_a_skipped_correction_warns_that_moto_differs_from_sqs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    [correction] = moto_speedups.CORRECTIONS
    target, _ = PINS[correction][0]
    monkeypatch.setitem(PINS, correction, ((target, "0000000000000000"),))
    with caplog.at_level("WARNING", logger=moto_speedups.__name__):
        applied = moto_speedups.apply_checked({correction: lambda: None})
    assert applied == []
    [warning] = [r.getMessage() for r in caplog.records]
    assert f"correction {correction!r} skipped" in warning
    assert "unlike SQS" in warning and "never wrong" not in warning


def test_every_speedup_is_pinned_and_every_pin_names_a_speedup() -> None:
    assert set(PINS) == set(moto_speedups._SPEEDUPS)
    assert set(PINS) >= moto_speedups.CORRECTIONS
    assert all(PINS.values())


def test_a_class_is_fingerprinted_by_the_text_inspect_gives() -> None:
    # the fast class lookup must read exactly what inspect.getsource reads
    source = inspect.getsource(ConditionExpressionParser)
    assert moto_speedups._source(ConditionExpressionParser) == source


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def test_the_sqs_clock_reads_the_same_instant_as_moto() -> None:
    # the speedup's "now" must be moto's "now", in seconds since the epoch
    moto_now = utils.unix_time()
    assert abs(time.time() - moto_now) < 0.5


def test_install_twice_patches_once() -> None:
    # in-process moto installs on every serialized_mock_aws(): a second call must not wrap
    # the transaction speedup around itself
    from moto.dynamodb.models import DynamoDBBackend as Backend

    from sluice.local import moto_speedups

    moto_speedups.install()
    patched = Backend.transact_write_items
    moto_speedups.install()
    assert Backend.transact_write_items is patched


def test_a_send_still_honours_content_based_deduplication() -> None:
    # what a send reads of its queue, with the speedup: FIFO deduplication by content, the
    # refusal without it, a standard queue untouched; and the full attributes outside a send
    import boto3

    from sluice.local.inprocess import serialized_mock_aws

    with serialized_mock_aws():
        sqs = boto3.client(
            "sqs", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        by_content = sqs.create_queue(
            QueueName="c.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        for _ in range(2):
            sqs.send_message(QueueUrl=by_content, MessageBody="same", MessageGroupId="g")
        got = sqs.receive_message(QueueUrl=by_content, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in got] == ["same"]
        by_id = sqs.create_queue(
            QueueName="i.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]
        with pytest.raises(sqs.exceptions.ClientError, match="ContentBasedDeduplication"):
            sqs.send_message(QueueUrl=by_id, MessageBody="x", MessageGroupId="g")
        standard = sqs.create_queue(QueueName="s")["QueueUrl"]
        sqs.send_message_batch(
            QueueUrl=standard, Entries=[{"Id": str(i), "MessageBody": "b"} for i in range(3)]
        )
        shown = sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["All"])
        assert shown["Attributes"]["ApproximateNumberOfMessages"] == "3"
        assert (
            "ContentBasedDeduplication"
            in sqs.get_queue_attributes(QueueUrl=by_id, AttributeNames=["All"])["Attributes"]
        )


@pytest.fixture
def table() -> Iterator[Any]:
    """A DynamoDB table ("pk") in in-process moto, which installs the speedups."""
    import boto3

    from sluice.local.inprocess import serialized_mock_aws

    with serialized_mock_aws():
        dynamodb = boto3.client(
            "dynamodb", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


def test_one_parsed_update_expression_applies_each_requests_own_values(table: Any) -> None:
    # the parse is shared between requests; names and values are resolved on a copy
    update = "SET #s = :s ADD #n :n"
    names = {"#s": "status", "#n": "count"}
    for key, status, n in (("a", "new", 1), ("b", "old", 5), ("a", "done", 2)):
        table.update_item(
            TableName="t",
            Key={"pk": {"S": key}},
            UpdateExpression=update,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":s": {"S": status}, ":n": {"N": str(n)}},
        )
    items = {i["pk"]["S"]: i for i in table.scan(TableName="t")["Items"]}
    assert items["a"]["status"] == {"S": "done"} and items["a"]["count"] == {"N": "3"}
    assert items["b"]["status"] == {"S": "old"} and items["b"]["count"] == {"N": "5"}
    # the shared tree still holds placeholders, not the values of any request
    tree = UpdateExpressionParser.make(update)
    assert UpdateExpressionParser.make(update) is tree
    placeholders = tree.find_clauses([ExpressionAttributeValue])
    assert [v.get_value_name() for v in placeholders] == [":s", ":n"]
    # an expression that does not parse is refused every time
    for _ in range(2):
        with pytest.raises(table.exceptions.ClientError, match="Invalid UpdateExpression"):
            table.update_item(
                TableName="t",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET = :s",
                ExpressionAttributeValues={":s": {"S": "x"}},
            )


def test_one_lexed_condition_still_decides_by_each_requests_values(table: Any) -> None:
    condition = "attribute_not_exists(pk) OR #v < :v"
    outcomes = []
    for version in (1, 3, 2, 4):
        try:
            table.put_item(
                TableName="t",
                Item={"pk": {"S": "k"}, "v": {"N": str(version)}},
                ConditionExpression=condition,
                ExpressionAttributeNames={"#v": "v"},
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
            outcomes.append(version)
        except table.exceptions.ConditionalCheckFailedException:
            outcomes.append(-version)
    assert outcomes == [1, 3, -2, 4]
    for _ in range(2):  # a condition that does not lex fails every time (in moto, so)
        with pytest.raises(ValueError, match="Cannot parse condition"):
            table.put_item(TableName="t", Item={"pk": {"S": "k"}}, ConditionExpression="pk @ 1")


def test_each_validation_step_keeps_its_own_node_types() -> None:
    from sluice.local import moto_speedups

    moto_speedups.install()
    values = validators.ExpressionAttributeValueProcessor({})
    functions = validators.UpdateExpressionFunctionEvaluator()
    assert values.nodes_to_be_processed() == tuple(values._processing_map())
    assert functions.nodes_to_be_processed() == tuple(functions._processing_map())
    assert values.nodes_to_be_processed() != functions.nodes_to_be_processed()
    assert values.nodes_to_be_processed() is values.nodes_to_be_processed()  # listed once


def test_each_parse_of_a_condition_gets_its_own_queue_of_the_shared_tokens() -> None:
    from sluice.local import moto_speedups

    moto_speedups.install()
    text = "attribute_not_exists(#id) OR #expiry < :now"
    first = ConditionExpressionParser(text, None, None)._lex_condition_expression()
    second = ConditionExpressionParser(text, {"#id": "pk"}, None)._lex_condition_expression()
    assert first is not second
    assert all(a is b for a, b in zip(first, second, strict=True))  # lexed once


def test_update_expressions_are_parsed_only_where_the_speedup_was_checked() -> None:
    # each caller of the shared tree was read: a new caller in moto must be read too
    import moto

    root = Path(moto.__file__).parent
    callers = {
        str(path.relative_to(root)): path.read_text().count("UpdateExpressionParser.make(")
        for path in root.rglob("*.py")
        if "UpdateExpressionParser.make(" in path.read_text()
    }
    assert callers == {"dynamodb/responses.py": 2, "dynamodb/models/__init__.py": 1}


def test_response_methods_are_listed_once_per_class() -> None:
    from moto.core import responses
    from moto.sqs.responses import SQSResponse

    from sluice.local import moto_speedups

    moto_speedups.install()
    listed = responses.method_names_from_class(SQSResponse)
    assert "send_message" in listed and "put_item" not in listed
    assert responses.method_names_from_class(SQSResponse) is listed
    assert "put_item" in responses.method_names_from_class(DynamoHandler)


@pytest.fixture
def fifo(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, list[float]]]:
    """A FIFO queue in in-process moto (which installs the speedups), with two messages of
    group "g" ("p1" then "p2"), and SQS's clock stopped: ``clock[0]`` is now, in ms."""
    import boto3
    from moto.sqs import models

    from sluice.local.inprocess import serialized_mock_aws

    with serialized_mock_aws():
        clock = [time.time() * 1000]
        monkeypatch.setattr(models, "unix_time_millis", lambda dt=None: clock[0])
        sqs = boto3.client(
            "sqs", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        url = sqs.create_queue(
            QueueName="q.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        )["QueueUrl"]
        for body in ("p1", "p2"):
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
        yield sqs, url, clock


def _receive(sqs: Any, url: str) -> list[Any]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
        "Messages", []
    )


def _release(sqs: Any, url: str, messages: list[Any]) -> None:
    sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(messages)
        ],
    )


def test_a_released_fifo_group_is_received_again_at_once_head_first(
    fifo: tuple[Any, str, list[float]],
) -> None:
    # SQS counts a visibility timeout from the call: 0 makes the message visible at once,
    # and its group no longer in flight. moto (visible only once now > visible_at) kept both
    # in flight in the instant they were released, and a tick later gave p2 ahead of p1.
    sqs, url, _ = fifo  # the clock stays where it is
    held = _receive(sqs, url)
    assert [m["Body"] for m in held] == ["p1", "p2"]

    _release(sqs, url, held)  # in the same instant (the clock is stopped)

    assert [m["Body"] for m in _receive(sqs, url)] == ["p1", "p2"]


def test_a_fifo_group_whose_last_message_in_flight_lapsed_gives_its_head_first(
    fifo: tuple[Any, str, list[float]],
) -> None:
    # SQS holds a group back only while a message of it is in flight. moto counted p2 in
    # flight after its timeout lapsed, until a receive reached it in queue order: p1, ahead
    # of it, was skipped and p2 delivered first.
    sqs, url, clock = fifo
    p1, _p2 = _receive(sqs, url)
    _release(sqs, url, [p1])
    assert _receive(sqs, url) == []  # p2 is in flight: the group is held back

    clock[0] += 31_000  # p2's 30 s lapse

    assert [m["Body"] for m in _receive(sqs, url)] == ["p1", "p2"]


def test_a_long_poll_that_sees_a_fifo_group_lapse_gives_its_head_first(
    fifo: tuple[Any, str, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a long poll that finds the group in flight waits; here the whole group lapses during
    # that wait. moto counted p2 in flight until it reached it, so it skipped p1 and gave p2.
    from moto.sqs.models import Queue

    sqs, url, clock = fifo
    assert [m["Body"] for m in _receive(sqs, url)] == ["p1", "p2"]
    wait = Queue.wait_for_messages

    def lapse_then_wait(queue: Any, timeout: int) -> None:
        clock[0] += 31_000  # both 30 s lapse while the poll waits
        wait(queue, timeout)

    monkeypatch.setattr(Queue, "wait_for_messages", lapse_then_wait)

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
    assert got["Messages"][0]["Body"] == "p1"
