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
from collections.abc import Callable
from typing import Any

import pytest
from moto import backends
from moto.core import utils
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Message, Queue, SQSBackend

PINNED: list[tuple[str, Callable[..., Any], str]] = [
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
    # _attribute_names: a pure function of the name, and the property that calls it per name
    ("attribute names", utils.camelcase_to_underscores, "084cdc5bab92db95"),
    ("attribute names", Queue.attributes.fget, "40cb990b121628d5"),  # type: ignore[attr-defined]
    # _routing: the listing cached, and the router that calls it on every request
    ("routing", backends.list_of_moto_modules, "4f741a10b06500e8"),
    ("routing", DomainDispatcherApplication.get_backend_for_host, "1f41972c1e4e660f"),
]


@pytest.mark.parametrize(
    ("speedup", "code", "fingerprint"),
    PINNED,
    ids=[f"{speedup}:{code.__qualname__}" for speedup, code, _ in PINNED],
)
def test_the_patched_moto_code_is_the_code_the_speedup_was_written_for(
    speedup: str, code: Callable[..., Any], fingerprint: str
) -> None:
    source = inspect.getsource(code)
    found = hashlib.sha256(source.encode()).hexdigest()[:16]
    assert found == fingerprint, (
        f"moto changed {code.__module__}.{code.__qualname__}: re-read the {speedup!r} "
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
