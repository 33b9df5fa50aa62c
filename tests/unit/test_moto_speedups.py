"""Each speedup in ``sluice.local.moto_speedups`` rests on moto code read at one version.

A moto upgrade that changes any of that code fails here, naming the speedup to re-read
before the fingerprint is updated. The sandbox, chaos and bad-input suites prove the
speedups keep moto's results; these tests prove they still patch what they were written
against.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import backends
from moto.core import utils
from moto.core.responses import BaseResponse
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, ExpressionAttributeValue, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Message, Queue, SQSBackend

PINNED: list[tuple[str, Any, str]] = [
    # _transactions: moto's backup step asks `name in self.tables` of each table it copies
    ("transactions", DynamoDBBackend.transact_write_items, "81db2cb7d94e39c9"),
    # _retention: the method replaced outright
    ("retention", SQSBackend.is_message_valid_based_on_retention_period, "cca23b94a5f3af9d"),
    # _sends: the three readers of the flag during a send, and the property that computes it
    ("sends", SQSBackend.send_message, "bf161af09a9e6b86"),
    ("sends", SQSBackend._validate_message, "39cb57c19e596164"),
    ("sends", Queue.add_message, "f27c9231c1f20433"),
    # _sqs_clock: "now" as moto computes it, and the two readers on every message
    ("sqs clock", utils.unix_time, "f0576ec9e5f586e5"),
    ("sqs clock", Message.visible.fget, "5129b573308de62a"),  # type: ignore[attr-defined]
    ("sqs clock", Message.delayed.fget, "e2fd48abf582683a"),  # type: ignore[attr-defined]
    # _update_expressions: a pure function of the text, and every reader of its tree (the
    # handler's checks read it; the validator deep-copies it before resolving anything)
    ("update expressions", UpdateExpressionParser.make, "2c00ed96d6e191f2"),
    ("update expressions", validators.Validator.__init__, "9489b532dd0fb359"),
    ("update expressions", DynamoDBBackend.update_item, "218984588dd689a5"),
    ("update expressions", DynamoHandler.update_item, "638893af1afd43d2"),
    ("update expressions", DynamoHandler.transact_write_items, "61c163fff213f33a"),
    (
        "update expressions",
        Node,
        "424025051cece8da",
    ),  # find_clauses only reads; normalize is on the copy
    # _condition_tokens: the lexer reads only the text, and no step of the parse changes a
    # token (the whole class, since any step may)
    ("condition tokens", ConditionExpressionParser, "ba0de03156fea746"),
    # _update_validation: the traverser, and every processor's map keyed by fixed classes
    ("update validation", DepthFirstTraverser, "ec3e3b9cd5fdd87f"),
    ("update validation", validators, "345c1740c0c674a7"),
    # _method_names: a function of the class, called by every request
    ("method names", utils.method_names_from_class, "9dbac89d082b655f"),
    ("method names", BaseResponse.call_action, "26076963fd17fd1a"),
    # _attribute_names: a pure function of the name, and the property that calls it per name
    ("attribute names", utils.camelcase_to_underscores, "084cdc5bab92db95"),
    ("attribute names", Queue.attributes.fget, "40cb990b121628d5"),  # type: ignore[attr-defined]
    # _routing: the listing cached, and the router that calls it on every request
    ("routing", backends.list_of_moto_modules, "4f741a10b06500e8"),
    ("routing", DomainDispatcherApplication.get_backend_for_host, "1f41972c1e4e660f"),
]


def _name(code: Any) -> str:
    """The pinned code's dotted name: a module, or a class or function in one."""
    if inspect.ismodule(code):
        return code.__name__
    return f"{code.__module__}.{code.__qualname__}"


@pytest.mark.parametrize(
    ("speedup", "code", "fingerprint"),
    PINNED,
    ids=[f"{speedup}:{_name(code)}" for speedup, code, _ in PINNED],
)
def test_the_patched_moto_code_is_the_code_the_speedup_was_written_for(
    speedup: str, code: Any, fingerprint: str
) -> None:
    source = inspect.getsource(code)
    found = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert found == fingerprint, (
        f"moto changed {_name(code)}: re-read the {speedup!r} "
        "speedup in sluice/local/moto_speedups.py against it, then update this fingerprint"
    )


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
