"""A stream handler that crashes, with an exception of any kind, is a function error to the
sandbox's stream poller, as it is to Lambda: the batch is bisected, retried per the mapping,
then handed to the on-failure destination; the shard's reader never dies."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from urllib.parse import unquote_plus

import pytest

from app import APP
from events import CATALOG
from sluice.core import Envelope
from sluice.local.sandbox import Sandbox
from sluice.local.stream_poller import EXHAUSTED
from sluice.runtime import Registry, Source, StreamChange, worker
from tests.sandbox.conftest import stored_order

pytestmark = pytest.mark.sandbox


class Crash(BaseException):
    """Not an ``Exception``: what a handler raises when something below it breaks hard."""


CRASHES: dict[str, BaseException] = {
    "sys.exit": SystemExit(3),
    "BaseException": Crash("the runtime below the handler broke"),
}
handled: list[str] = []
crash: list[BaseException] = []
_lock = threading.Lock()


@worker(
    catalog=CATALOG,
    source=Source.STREAM,
    table="orders",
    name="crashy",
    idempotent=False,
    retry_attempts=2,
    timeout_s=5,
    timeout_margin_s=0.5,
)
def crashy(event: Envelope[StreamChange]) -> None:
    """Crashes on every order whose id starts with ``crash-``; notes the others."""
    order_id = str((event.data.new_image or {}).get("id"))
    if order_id.startswith("crash-"):
        raise crash[0]
    with _lock:
        handled.append(order_id)


@pytest.mark.parametrize("kind", sorted(CRASHES))
def test_a_crashing_stream_handler_is_retried_bisected_and_handed_over(kind: str) -> None:
    crash[:] = [CRASHES[kind]]
    handled.clear()
    with Sandbox(
        app=replace(APP, schedules=()).with_registry(Registry([crashy])), serve_api=False
    ) as box:
        assert box.clients is not None
        table = box.topology.table("orders")
        # GIVEN a crashing order and a good one behind it, in the same stream batch
        for order_id in ("crash-1", "fine-1"):
            box.clients.dynamodb.put_item(TableName=table, Item=stored_order(order_id))
        # WHEN the poller delivers them, THEN the crash goes to the on-failure destination
        failures = box.queue_url(box.topology.stream_failure_queue(crashy.spec))
        deadline, found = time.monotonic() + 30, []
        while not found and time.monotonic() < deadline:
            found = box.clients.sqs.receive_message(QueueUrl=failures).get("Messages", [])
            time.sleep(0.2)
        assert found, "no on-failure record after 30 s: the shard's reader died"
        [announced] = json.loads(found[0]["Body"])["Records"]
        where = announced["s3"]
        stored = box.clients.client("s3").get_object(
            Bucket=where["bucket"]["name"], Key=unquote_plus(where["object"]["key"])
        )
        record = json.loads(stored["Body"].read())
        # AND the reader is alive: an order written afterwards is handled too
        box.clients.dynamodb.put_item(TableName=table, Item=stored_order("fine-2"))
        deadline = time.monotonic() + 30
        while "fine-2" not in handled and time.monotonic() < deadline:
            time.sleep(0.1)
    # the good neighbour got through (again, if it ran in the batch that crashed), and the
    # crash alone exhausted its retries
    assert list(dict.fromkeys(handled)) == ["fine-1", "fine-2"]
    assert record["requestContext"]["condition"] == EXHAUSTED
    assert record["requestContext"]["approximateInvokeCount"] == crashy.spec.retry_attempts + 1
    assert record["responseContext"]["functionError"] == "Unhandled"
    [failed] = json.loads(record["payload"])["Records"]
    assert failed["dynamodb"]["NewImage"]["id"] == {"S": "crash-1"}
