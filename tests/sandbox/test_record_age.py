"""The stream poller's maximum record age: a record too old to deliver goes, unprocessed, to
the on-failure destination, with Lambda's ``MaximumRecordAgeExceeded`` condition."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any
from urllib.parse import unquote_plus

import pytest

from app import APP
from events import CATALOG
from sluice.core import Envelope
from sluice.local.sandbox import Sandbox
from sluice.local.stream_poller import TOO_OLD
from sluice.runtime import Registry, RetryableError, Source, StreamChange, Worker, worker
from tests.sandbox.conftest import stored_order

pytestmark = pytest.mark.sandbox

calls: list[str] = []


@worker(
    catalog=CATALOG,
    source=Source.STREAM,
    table="orders",
    name="laggard",
    idempotent=False,
    retry_attempts=50,
    timeout_s=5,
    timeout_margin_s=0.5,
)
def laggard(event: Envelope[StreamChange]) -> None:
    """Fails every delivery, so its records only grow older."""
    calls.append(event.id)
    raise RetryableError("still down")


def test_a_record_older_than_the_maximum_age_goes_to_the_failure_queue(tmp_path: Any) -> None:
    # GIVEN a stream worker that keeps failing, whose records may be at most 1 s old
    # (AWS's floor is 60 s; the declaration check is bypassed to keep the test short)
    aged = Worker(replace(laggard.spec, max_record_age_s=1), laggard.fn, laggard.catalog)
    with Sandbox(
        app=replace(APP, schedules=()).with_registry(Registry([aged])), serve_api=False
    ) as box:
        assert box.clients is not None
        # WHEN an order is written to the streamed table
        box.clients.dynamodb.put_item(
            TableName=box.topology.table("orders"), Item=stored_order("ord-aged")
        )
        failures = box.queue_url(box.topology.stream_failure_queue(aged.spec))
        deadline, found = time.monotonic() + 30, []
        while not found and time.monotonic() < deadline:
            found = box.clients.sqs.receive_message(QueueUrl=failures).get("Messages", [])
            time.sleep(0.2)
        retries = len(calls)
        time.sleep(1.0)
        assert len(calls) == retries, "a record past its age is not delivered again"
        # THEN it was tried while young, then handed over unprocessed with the age condition:
        # its whole invocation record is in the failure bucket, announced on the queue
        assert found, "no on-failure record after 30 s"
        [announced] = json.loads(found[0]["Body"])["Records"]
        where = announced["s3"]
        s3 = box.clients.client("s3")
        stored = s3.get_object(
            Bucket=where["bucket"]["name"], Key=unquote_plus(where["object"]["key"])
        )
        record = json.loads(stored["Body"].read())
    assert len(json.loads(record["payload"])["Records"]) == 1
    assert record["requestContext"]["condition"] == TOO_OLD
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert calls, "the record was delivered before it grew too old"
