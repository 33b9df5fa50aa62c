"""The relay: orders stream -> order.placed / order.cancelled on the bus, with exact failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events import CATALOG, ORDER_CANCELLED, ORDER_PLACED
from producers.api import OrdersApi, OrdersStore
from sluice.core import Catalog, Contract, Model
from sluice.runtime import BatchFailedError, Source, StreamChange, Worker, stream_event_id
from sluice.runtime.relay import ToEvent, stream_relay
from sluice.runtime.wiring import wire_worker
from tests.conftest import Pipeline
from tests.functional.faults import EntryFaults
from tests.functional.http_events import JSON, api_event, body, order_body
from tests.functional.test_metrics import emf_documents
from workers.relay import order_event


def _stream_records(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Every record on the orders stream, shaped as Lambda delivers them."""
    streams = pipeline.clients.client("dynamodbstreams")
    arn = pipeline.provisioned.stream_arns["orders"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            change = record["dynamodb"]  # boto3 parses the epoch; Lambda hands it as a number
            change["ApproximateCreationDateTime"] = change[
                "ApproximateCreationDateTime"
            ].timestamp()
            records.append({**record, "eventSourceARN": arn})
    return records


def _place(api: OrdersApi, correlation_id: str, **overrides: Any) -> str:
    headers = {**JSON, "X-Correlation-Id": correlation_id}
    answer = api.handler(
        api_event("v2", "POST", "/orders", json.dumps(order_body(**overrides)), headers), None
    )
    assert answer["statusCode"] == 202
    return str(body(answer)["id"])


@pytest.fixture
def api(pipeline: Pipeline) -> OrdersApi:
    return OrdersApi(OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders")))


def _event_id(pipeline: Pipeline, record: dict[str, Any]) -> str:
    keys = {"id": record["dynamodb"]["Keys"]["id"]["S"]}
    return stream_event_id(
        pipeline.topology.table("orders"), keys, record["dynamodb"]["SequenceNumber"]
    )


def _bodies(pipeline: Pipeline, queue: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in pipeline.drain(queue)]


def test_inserts_and_cancellations_become_events_and_the_rest_is_ignored(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    # GIVEN two placed orders, one cancelled, one edited otherwise, one deleted
    first = _place(api, "corr-1")
    second = _place(api, "corr-2", customer_id="cust-7")
    cancel = api_event(
        "v1", "POST", f"/orders/{first}/cancel", json.dumps({"reason": "late"}), JSON
    )
    assert api.handler(cancel, None)["statusCode"] == 200
    db, table = pipeline.clients.dynamodb, pipeline.topology.table("orders")
    db.update_item(
        TableName=table,
        Key={"id": {"S": second}},
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": "gift wrap"}},
    )
    db.delete_item(TableName=table, Key={"id": {"S": first}})
    records = _stream_records(pipeline)
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "MODIFY", "MODIFY", "REMOVE"]

    # WHEN the relay gets the batch
    answer = pipeline.worker("relay").handler({"Records": records}, None)

    # THEN nothing failed, and inventory got placed, placed, cancelled with stream-derived ids
    assert answer == {"batchItemFailures": []}
    events = _bodies(pipeline, "sluice-inventory")
    by_type = sorted((e["type"], e["data"]["order_id"]) for e in events)
    assert by_type == sorted(
        [(ORDER_CANCELLED, first), (ORDER_PLACED, first), (ORDER_PLACED, second)]
    )
    ids = {e["id"] for e in events}
    assert ids == {_event_id(pipeline, r) for r in records[:3]}
    cancelled = next(e for e in events if e["type"] == ORDER_CANCELLED)
    assert cancelled["data"] == {
        "order_id": first,
        "customer_id": "cust-42",
        "items": order_body()["items"],
        "reason": "late",
    }
    assert cancelled["correlation_id"] == "corr-1"
    assert cancelled["id"] == _event_id(pipeline, records[2])
    placed = next(
        e for e in events if e["data"]["order_id"] == second and e["type"] == ORDER_PLACED
    )
    assert placed["data"] == {
        "order_id": second,
        "customer_id": "cust-7",
        "items": order_body()["items"],
        "currency": "EUR",
    }
    assert (placed["correlation_id"], placed["version"], placed["source"]) == (
        "corr-2",
        1,
        "sluice.relay",
    )
    # AND receipts (order.placed only) got the two placements
    assert sorted(e["type"] for e in _bodies(pipeline, "sluice-receipts")) == [ORDER_PLACED] * 2
    # AND the ignored changes were logged and counted
    summary = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    relayed = next(line for line in summary if line["message"] == "relayed stream batch")
    assert (relayed["published"], relayed["ignored"], relayed["ignored_by_change"]) == (
        3,
        2,
        {"MODIFY": 1, "REMOVE": 1},
    )
    # AND each published event has its own line under its correlation id (a trace hop on AWS)
    published = [line for line in summary if line["message"] == "event published"]
    assert sorted((p["event_id"], p["correlation_id"], p["event_type"]) for p in published) == (
        sorted((e["id"], e["correlation_id"], e["type"]) for e in events)
    )
    # AND the SNS message id of each (what a trace joins on across the hop)
    assert all(isinstance(p["message_id"], str) and p["message_id"] for p in published)


def test_rereading_the_stream_publishes_the_same_ids(pipeline: Pipeline, api: OrdersApi) -> None:
    for n in range(3):
        _place(api, f"corr-{n}")
    records = _stream_records(pipeline)
    relay = pipeline.worker("relay")

    relay.handler({"Records": records}, None)
    first = sorted(e["id"] for e in _bodies(pipeline, "sluice-audit"))
    relay.handler({"Records": records}, None)
    again = sorted(e["id"] for e in _bodies(pipeline, "sluice-audit"))

    assert first == again == sorted(_event_id(pipeline, r) for r in records)


def test_entries_that_keep_failing_fail_exactly_their_stream_records(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    # GIVEN twelve orders, two of which SNS refuses on every try
    orders = [_place(api, f"corr-{n}") for n in range(12)]
    unlucky = {orders[4], orders[10]}
    faults = EntryFaults(
        pipeline.clients.sns,
        "PublishBatch",
        fails=lambda message: json.loads(message)["data"]["order_id"] in unlucky,
    )
    records = _stream_records(pipeline)

    # WHEN the relay runs
    answer = pipeline.worker("relay").handler({"Records": records}, None)

    # THEN those two records, by sequence number, are the batch item failures
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": records[4]["dynamodb"]["SequenceNumber"]},
            {"itemIdentifier": records[10]["dynamodb"]["SequenceNumber"]},
        ]
    }
    # AND they were retried (10 + 2 entries, then 2 more per retry), the rest published once
    assert [len(c) for c in faults.calls] == [10, 2, 2, 2, 2]
    published = sorted(e["data"]["order_id"] for e in _bodies(pipeline, "sluice-receipts"))
    assert published == sorted(set(orders) - unlucky)
    # AND the worker's log has the publisher's retries, each failure by id and code, and a
    # summary counting the twelve records, the two failures and the five calls
    assert len(_log_lines(pipeline, "publish entries failed; retrying")) == 3
    failed = _log_lines(pipeline, "event not published")
    assert sorted((line["event_id"], line["code"]) for line in failed) == sorted(
        (_event_id(pipeline, records[n]), "InternalError") for n in (4, 10)
    )
    [summary] = _log_lines(pipeline, "relayed stream batch")
    assert (summary["records"], summary["published"], summary["failed"], summary["calls"]) == (
        12,
        10,
        2,
        5,
    )


def test_a_transient_refusal_is_retried_and_every_record_succeeds(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    orders = [_place(api, f"corr-{n}") for n in range(3)]
    EntryFaults(
        pipeline.clients.sns,
        "PublishBatch",
        fails=lambda message: json.loads(message)["data"]["order_id"] == orders[1],
        times=1,
    )
    answer = pipeline.worker("relay").handler({"Records": _stream_records(pipeline)}, None)
    assert answer == {"batchItemFailures": []}
    assert sorted(e["data"]["order_id"] for e in _bodies(pipeline, "sluice-receipts")) == sorted(
        orders
    )


def test_when_every_publish_fails_the_whole_batch_fails(pipeline: Pipeline, api: OrdersApi) -> None:
    _place(api, "corr-1")
    EntryFaults(pipeline.clients.sns, "PublishBatch", fails=lambda _: True)
    with pytest.raises(BatchFailedError, match="all 1 records of the batch failed"):
        pipeline.worker("relay").handler({"Records": _stream_records(pipeline)}, None)


def test_a_stored_item_that_breaks_the_contract_fails_only_its_record(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    # GIVEN a valid order and an item written behind the API's back with no items
    good = _place(api, "corr-ok")
    pipeline.clients.dynamodb.put_item(
        TableName=pipeline.topology.table("orders"),
        Item={"id": {"S": "ord-bad"}, "customer_id": {"S": "c"}, "status": {"S": "PLACED"}},
    )
    records = _stream_records(pipeline)

    answer = pipeline.worker("relay").handler({"Records": records}, None)

    assert answer == {
        "batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]
    }
    assert [e["data"]["order_id"] for e in _bodies(pipeline, "sluice-receipts")] == [good]
    errors = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    broken = next(line for line in errors if line["message"] == "stored item breaks its contract")
    assert broken["reason"] == "invalid_payload"
    assert "data.items: must have at least 1 item, got 0" in broken["detail"]


def _log_lines(pipeline: Pipeline, message: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    return [line for line in lines if line["message"] == message]


def _declared(pipeline: Pipeline, to_event: ToEvent, **options: Any) -> Worker:
    """A relay of the orders table declared here (not the app's), wired to this moto."""
    declared = stream_relay(catalog=CATALOG, table="orders", to_event=to_event, **options)
    return wire_worker(declared, pipeline.clients, pipeline.environment, log=pipeline.logs)


def _note(pipeline: Pipeline, order_id: str, note: str) -> None:
    pipeline.clients.dynamodb.update_item(
        TableName=pipeline.topology.table("orders"),
        Key={"id": {"S": order_id}},
        UpdateExpression="SET note = :n",
        ExpressionAttributeValues={":n": {"S": note}},
    )


def test_a_relay_declared_with_defaults_reads_100_records_and_publishes_as_relay_dot_table(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    # GIVEN a relay declared with nothing but its catalog, table and mapping
    relay = _declared(pipeline, order_event)
    # THEN it is the stream worker "relay" of the mapping's module, batched and publishing,
    # reading up to 100 records for up to 60 s, with no idempotency store (ids are stable)
    spec = relay.spec
    assert (spec.name, spec.module, spec.source, spec.table) == (
        "relay",
        order_event.__module__,
        Source.STREAM,
        "orders",
    )
    assert (spec.batch, spec.publishes, spec.batch_size, spec.timeout_s, spec.idempotent) == (
        True,
        True,
        100,
        60,
        False,
    )
    # AND its events carry the source <name>.<table>
    order = _place(api, "corr-d")
    assert relay.handler({"Records": _stream_records(pipeline)}, None) == {"batchItemFailures": []}
    [event] = _bodies(pipeline, "sluice-receipts")
    assert (event["source"], event["data"]["order_id"]) == ("relay.orders", order)


def test_a_relay_takes_its_name_source_and_settings_from_its_declaration(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    relay = _declared(
        pipeline, order_event, name="mirror", source="shop.orders", batch_size=25, timeout_s=20
    )
    assert (relay.spec.name, relay.spec.batch_size, relay.spec.timeout_s) == ("mirror", 25, 20)
    _place(api, "corr-s")
    relay.handler({"Records": _stream_records(pipeline)}, None)
    assert [e["source"] for e in _bodies(pipeline, "sluice-receipts")] == ["shop.orders"]


def test_a_change_the_mapping_cannot_map_fails_alone_and_the_batch_goes_on(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    # GIVEN four orders: the mapping crashes on the second and breaks the contract on the third,
    # and the fourth is edited twice (two ignored changes)
    orders = [_place(api, f"corr-{n}") for n in range(4)]
    _note(pipeline, orders[3], "gift wrap")
    _note(pipeline, orders[3], "ring twice")

    def picky(change: StreamChange) -> tuple[str, dict[str, Any]] | None:
        order_id = (change.new_image or {}).get("id")
        if order_id == orders[1]:
            raise ValueError("no mapping for this one")
        if order_id == orders[2] and change.event_name == "INSERT":
            return ORDER_PLACED, {"order_id": order_id}
        return order_event(change)

    records = _stream_records(pipeline)
    # WHEN the relay gets the six changes
    answer = _declared(pipeline, picky).handler({"Records": records}, None)
    # THEN exactly the crashing and the broken records failed, and the others went on
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]},
            {"itemIdentifier": records[2]["dynamodb"]["SequenceNumber"]},
        ]
    }
    published = sorted(e["data"]["order_id"] for e in _bodies(pipeline, "sluice-receipts"))
    assert published == sorted([orders[0], orders[3]])
    # AND each failure is logged under its event id with its reason
    [crash] = _log_lines(pipeline, "stored item cannot be mapped to an event")
    assert (crash["event_id"], crash["reason"], crash["detail"]) == (
        _event_id(pipeline, records[1]),
        "unmappable",
        "ValueError: no mapping for this one",
    )
    [broken] = _log_lines(pipeline, "stored item breaks its contract")
    assert (broken["event_id"], broken["reason"]) == (
        _event_id(pipeline, records[2]),
        "invalid_payload",
    )
    assert "customer_id" in broken["detail"]
    # AND the batch summary counts every record, both failures and both ignored edits
    [summary] = _log_lines(pipeline, "relayed stream batch")
    assert {k: summary[k] for k in ("records", "published", "failed", "ignored", "calls")} == {
        "records": 6,
        "published": 2,
        "failed": 2,
        "ignored": 2,
        "calls": 1,
    }
    assert summary["ignored_by_change"] == {"MODIFY": 2}


class _Note(Model):
    text: str


NOTES = Catalog([Contract("note.taken", 1, _Note)])


def test_an_event_too_large_to_publish_fails_every_mapped_record_and_publishes_none(
    pipeline: Pipeline, api: OrdersApi
) -> None:
    # GIVEN two orders, the first mapped to an event over SNS's 256 KiB, and one ignored edit
    first, second = _place(api, "corr-1"), _place(api, "corr-2")
    _note(pipeline, second, "gift wrap")

    def notes(change: StreamChange) -> tuple[str, dict[str, Any]] | None:
        if change.event_name != "INSERT":
            return None
        size = 300_000 if (change.new_image or {}).get("id") == first else 10
        return "note.taken", {"text": "x" * size}

    relay = stream_relay(catalog=NOTES, table="orders", to_event=notes)
    wired = wire_worker(relay, pipeline.clients, pipeline.environment, log=pipeline.logs)
    records = _stream_records(pipeline)
    # WHEN the relay runs
    answer = wired.handler({"Records": records}, None)
    # THEN both mapped records failed (half a batch is never published), the edit did not
    assert answer == {
        "batchItemFailures": [
            {"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]},
            {"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]},
        ]
    }
    # AND the log names the oversized event and why
    [error] = _log_lines(pipeline, "event cannot be published")
    assert error["event_id"] == _event_id(pipeline, records[0])
    assert "256 KiB" in error["detail"]


def test_ignored_changes_are_counted_in_an_emf_metric_of_the_relay(
    pipeline: Pipeline, api: OrdersApi, capsys: pytest.CaptureFixture[str]
) -> None:
    order = _place(api, "corr-m")
    _note(pipeline, order, "one")
    _note(pipeline, order, "two")
    relay = _declared(pipeline, order_event, name="metered-relay")
    relay.deps.telemetry.metrics_enabled = True
    capsys.readouterr()

    relay.handler({"Records": _stream_records(pipeline)}, None)

    [doc] = [d for d in emf_documents(capsys.readouterr().out) if "IgnoredChanges" in d]
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("Sluice", [["worker"]])
    assert [(m["Name"], m["Unit"]) for m in directive["Metrics"]] == [("IgnoredChanges", "Count")]
    assert (doc["worker"], doc["IgnoredChanges"]) == ("metered-relay", [2.0])
