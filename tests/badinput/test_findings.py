"""Regression tests for the hardening review (issue 11), one or more per finding.

Each fails on the code the review ran against: a record that got stuck, a batch that failed
as a whole, or an order that broke.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from events import CATALOG, ORDER_PLACED, PAYMENT_CAPTURED, LineItem
from producers.api import OrdersApi, OrdersStore
from sluice.core import ContractError, Envelope
from sluice.ops.export import import_file
from sluice.publisher import GROUP_BLOCKED, Publisher, RetryPolicy
from sluice.runtime import (
    BatchFailedError,
    ConfigurationError,
    Deps,
    PermanentError,
    Source,
    StreamChange,
    Worker,
    worker,
)
from sluice.runtime.relay import stream_relay
from sluice.target import Target
from tests.conftest import Pipeline
from tests.factories import (
    order_data,
    payment,
    placed,
    sample,
    sns_wrapped,
    sqs_event,
    sqs_record,
)
from tests.functional.faults import CallFaults, EntryFaults
from tests.functional.http_events import api_event, body
from workers.inventory import adjust_stock

INVENTORY = "sluice-inventory"
LEDGER = "sluice-ledger.fifo"
DEEP = "[" * 100_000
HUGE_INT = '{"id": ' + "9" * 5000 + "}"
CAUSES = {"RecursionError": "maximum recursion depth", "ValueError": "(4300 digits)"}
"""What each parser exception says, whichever layer reports it."""


def wire(pipeline: Pipeline, declared: Worker) -> Worker:
    """A test-declared worker, wired to the pipeline's moto."""
    return declared.use(pipeline.deps(declared.spec.name))


def letters(pipeline: Pipeline, dlq: str) -> list[tuple[str, str, str]]:
    """(body, reason, detail) of every message on a DLQ."""
    found = []
    for message in pipeline.drain(dlq):
        attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        found.append(
            (message["Body"], attrs["sluice.failure_reason"], attrs["sluice.failure_detail"])
        )
    return found


def _sns(text: str) -> str:
    note = json.loads(sns_wrapped(placed()))
    note["Message"] = text
    return json.dumps(note)


# --- finding 1: a body whose parse raises anything is a permanent failure of its own ---


@pytest.mark.parametrize(
    ("bad", "cause"),
    [
        (DEEP, "RecursionError"),
        (HUGE_INT, "ValueError"),
        (_sns(DEEP), "RecursionError"),
        (_sns(HUGE_INT), "ValueError"),
        ('{"TopicArn": 1, "x": ' + DEEP, "RecursionError"),
    ],
    ids=["deep nesting", "5000-digit int", "sns: deep", "sns: 5000 digits", "sns-like: deep"],
)
def test_f1_a_body_the_parser_gives_up_on_is_dead_lettered_and_its_neighbours_apply(
    pipeline: Pipeline, bad: str, cause: str
) -> None:
    # GIVEN a batch: a good order, a body json gives up on, another good order
    first, last = placed("o-1", sku="A"), placed("o-2", sku="A")
    records = [sqs_record(e, queue=INVENTORY) for e in (first,)]
    records += [sqs_record(bad, queue=INVENTORY), sqs_record(last, queue=INVENTORY)]
    # WHEN inventory runs it
    answer = pipeline.worker("inventory").handler(sqs_event(*records), None)
    # THEN both good orders applied, and the bad body is in the DLQ with the reason
    assert answer == {"batchItemFailures": []}
    assert pipeline.stock("A")["reserved"] == 2
    [(letter, reason, detail)] = letters(pipeline, "sluice-inventory-dlq")
    # the decode boundary names the exception (undecodable); a parser that turns it into a
    # contract error of its own (malformed_json) is as good: permanent, with the cause
    assert letter == bad
    assert reason in ("undecodable", "malformed_json")
    assert CAUSES[cause] in detail


def _stream_record(sequence: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = sample("dynamodb_insert")["Records"][0]
    record["dynamodb"]["SequenceNumber"] = sequence
    record["dynamodb"]["Keys"] = {"id": {"S": f"ord-{sequence}"}}
    record["dynamodb"].update(changes)
    return record


def _deep_map(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "x"}
    for _ in range(depth):
        value = {"M": {"a": value}}
    return value


def _changes_worker(seen: list[str]) -> Worker:
    @worker(catalog=CATALOG, source=Source.STREAM, table="orders", name="changes")
    def changes(event: Envelope[StreamChange]) -> None:
        seen.append(event.data.sequence_number)

    return changes


@pytest.mark.parametrize(
    "changes",
    [{"NewImage": {"id": _deep_map(5000)}}, {"NewImage": {"n": {"N": "1e999999999"}}}],
    ids=["image nested 5000 deep", "number 1e999999999"],
)
def test_f1_a_stream_record_the_decoder_gives_up_on_fails_alone(
    pipeline: Pipeline, changes: dict[str, Any]
) -> None:
    # GIVEN a stream worker and a shard batch whose second record cannot be decoded
    seen: list[str] = []
    records = [_stream_record("101"), _stream_record("102", **changes), _stream_record("103")]
    # WHEN the batch runs
    answer = wire(pipeline, _changes_worker(seen)).handler({"Records": records}, None)
    # THEN the record before it applied, and the shard resumes at the bad one
    assert seen == ["101"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "103"}]}
    logged = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    [failure] = [r for r in logged if r["message"] == "permanent failure"]
    assert failure["reason"] == "invalid_envelope"
    assert failure["detail"].startswith("malformed stream record: ")


@pytest.mark.parametrize(
    "stamp", [1e300, "inf", "nan", "soon"], ids=["1e300", "inf", "nan", "not a number"]
)
def test_f1_a_stream_record_with_a_creation_time_no_clock_has_still_runs(
    pipeline: Pipeline, stamp: object
) -> None:
    # catches: the time overflowing datetime or int() and failing the whole invocation
    seen: list[str] = []
    records = [_stream_record("101", ApproximateCreationDateTime=stamp), _stream_record("102")]
    answer = wire(pipeline, _changes_worker(seen)).handler({"Records": records}, None)
    assert seen == ["101", "102"]
    assert answer == {"batchItemFailures": []}


def test_f1_a_relay_mapping_that_raises_fails_its_record_and_the_others_publish(
    pipeline: Pipeline,
) -> None:
    # GIVEN a relay whose to_event crashes on one change
    def to_event(change: StreamChange) -> tuple[str, dict[str, Any]] | None:
        if change.sequence_number == "102":
            raise KeyError("customer_id")
        return ORDER_PLACED, order_data(str(change.keys["id"]))

    relay = stream_relay(catalog=CATALOG, table="orders", to_event=to_event, name="relayx")
    records = [_stream_record(n) for n in ("101", "102", "103")]
    # WHEN the batch runs
    answer = wire(pipeline, relay).handler({"Records": records}, None)
    # THEN the other two were published, and only the crashing one is reported
    assert answer == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    published = [json.loads(m["Body"]) for m in pipeline.drain("sluice-audit")]
    assert sorted(e["data"]["order_id"] for e in published) == ["ord-101", "ord-103"]
    logged = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    [crash] = [r for r in logged if r["message"] == "stored item cannot be mapped to an event"]
    assert crash["detail"] == "KeyError: 'customer_id'"


def test_f1_dlq_import_skips_any_line_it_cannot_read_and_sends_the_rest(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # GIVEN an export file: a good line, a line nested too deep, a line not UTF-8, a line whose
    # body is no Unicode text, and another good line
    good = [placed("o-1").to_json(), placed("o-2").to_json()]
    path = tmp_path / "dead.jsonl"
    path.write_bytes(
        b"".join(
            [
                json.dumps({"message_id": "m-1", "body": good[0]}).encode() + b"\n",
                DEEP.encode() + b"\n",
                b'{"message_id": "m-3", "body": "\xff\xfe"}\n',
                b'{"message_id": "m-4", "body": "\\ud800"}\n',
                json.dumps({"message_id": "m-5", "body": good[1]}).encode() + b"\n",
            ]
        )
    )
    # WHEN it is imported
    target = Target(pipeline.clients, pipeline.topology, local=True)
    report = import_file(target, path, "sluice-audit", audit=tmp_path / "audit.jsonl")
    # THEN the good lines arrived and each bad one is skipped with why
    assert report.sent == 2
    assert [m["Body"] for m in pipeline.drain("sluice-audit")] == good
    assert [s["line"] for s in report.skipped] == [2, 3, 4]
    reasons = [s["reason"] for s in report.skipped]
    assert reasons[0].startswith("line 2: not JSON (RecursionError: ")
    assert reasons[1].startswith("line 3: not JSON (UnicodeDecodeError: ")
    assert reasons[2] == "line 4: a lone surrogate escape (e.g. \\ud800) is no Unicode text"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (DEEP, CAUSES["RecursionError"]),
        ('{"customer_id": ' + "9" * 5000 + "}", CAUSES["ValueError"]),
        ('{"customer_id": "\\ud800"}', "the body holds a lone surrogate escape"),
    ],
    ids=["deep nesting", "5000-digit int", "lone surrogate"],
)
def test_f1_the_api_answers_400_to_a_body_the_parser_gives_up_on(
    pipeline: Pipeline, text: str, detail: str
) -> None:
    api = OrdersApi(OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders")))
    event = api_event("v2", "POST", "/orders", text, {"Content-Type": "application/json"})
    answer = api.handler(event, None)
    assert answer["statusCode"] == 400
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert detail in str(body(answer)["detail"])


def test_f1_the_api_answers_404_to_an_order_id_no_key_can_hold(pipeline: Pipeline) -> None:
    # catches: GET /orders/<3000 characters> reaching DynamoDB, which refuses the key (500)
    api = OrdersApi(OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders")))
    answer = api.handler(api_event("v2", "GET", "/orders/" + "x" * 3000), None)
    assert answer["statusCode"] == 404
    assert body(answer)["detail"] == "no order with an id of 3000 characters (at most 128)"


# --- finding 2: an effect over TransactWriteItems' 100 items is permanent, not retried ---


def test_f2_an_effect_of_more_than_100_items_is_dead_lettered_as_too_large_not_retried(
    pipeline: Pipeline,
) -> None:
    # GIVEN a worker whose effect for one order is 100 updates (+ the completion = 101 items);
    # the orders contract stops such orders at the API (MAX_LINES), so a test worker makes it
    @worker(catalog=CATALOG, subscribes=[ORDER_PLACED], name="bulk", writes=("state",))
    def bulk(event: Envelope[Any], deps: Deps) -> None:
        lines = event.data.items
        if event.data.order_id == "o-big":
            lines = [LineItem(sku=f"SKU-{n}", quantity=1, unit_price_cents=1) for n in range(100)]
        adjust_stock(deps.transact, deps.settings.table("state"), lines, release=False)

    records = [sqs_record(placed(o, sku="S"), queue=INVENTORY) for o in ("o-big", "o-small")]
    # WHEN the batch runs
    answer = wire(pipeline, bulk).handler(sqs_event(*records), None)
    # THEN the big one is dead-lettered with the reason, and the neighbour applied
    assert answer == {"batchItemFailures": []}
    assert pipeline.stock("S")["reserved"] == 1
    assert pipeline.stock("SKU-0") == {}
    [(_, reason, detail)] = letters(pipeline, "sluice-inventory-dlq")
    assert reason == "effect_too_large"
    assert detail.startswith(
        "the effect is 101 items with the idempotency completion; TransactWriteItems takes "
        "at most 100."
    )


def test_f2_an_order_no_transaction_could_apply_is_refused_at_the_api() -> None:
    lines = [{"sku": f"SKU-{n}", "quantity": 1, "unit_price_cents": 1} for n in range(100)]
    # WHEN an order of 100 distinct SKUs is decoded (as the API and every worker do)
    with pytest.raises(ContractError, match=r"data.items: must have at most 99 items"):
        CATALOG.validate(
            Envelope.new(ORDER_PLACED, {**order_data("o"), "items": lines}, source="tests")
        )


# --- finding 3: DLQ sends are packed by bytes; one failed call costs only its letters ---

BIG = 150_000


def test_f3_ten_poison_records_of_150_kb_all_reach_the_dlq(pipeline: Pipeline) -> None:
    # GIVEN ten poison records of 150 KB (1.5 MB together, over SQS's batch limit)
    bodies = [f"{n}" + "x" * BIG for n in range(10)]
    records = [sqs_record(b, queue=INVENTORY) for b in bodies]
    # WHEN inventory runs them THEN every one is dead-lettered, none left to retry
    assert pipeline.worker("inventory").handler(sqs_event(*records), None) == {
        "batchItemFailures": []
    }
    found = letters(pipeline, "sluice-inventory-dlq")
    assert sorted(b for b, _, _ in found) == sorted(bodies)
    assert {reason for _, reason, _ in found} == {"malformed_json"}


def test_f3_a_dlq_call_that_fails_costs_only_its_own_letters(pipeline: Pipeline) -> None:
    # GIVEN three poison records of 150 KB (one DLQ call each) and a DLQ whose 2nd call fails
    bodies = [f"{n}" + "x" * BIG for n in range(3)]
    records = [sqs_record(b, queue=INVENTORY) for b in bodies]
    CallFaults(pipeline.clients.sqs, "SendMessageBatch", times=1, code="InternalError", after=1)
    # WHEN inventory runs them
    answer = pipeline.worker("inventory").handler(sqs_event(*records), None)
    # THEN only the second is left to retry; the first and the third are on the DLQ
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert sorted(b for b, _, _ in letters(pipeline, "sluice-inventory-dlq")) == [
        bodies[0],
        bodies[2],
    ]


# --- finding 4: FIFO order ---


def _ordered(seen: list[str]) -> Worker:
    @worker(
        catalog=CATALOG,
        source=Source.FIFO_QUEUE,
        subscribes=[PAYMENT_CAPTURED],
        group_by="account_id",
        name="ordered",
    )
    def ordered(event: Envelope[Any]) -> None:
        seen.append(event.data.payment_id)
        if event.data.amount_cents == 13:
            raise PermanentError("unlucky amount", reason="business_rule")

    return ordered


def test_f4a_a_permanent_failure_the_dlq_cannot_take_blocks_its_group(
    pipeline: Pipeline,
) -> None:
    # GIVEN a FIFO batch: a payment refused for good, then a later one of the same account,
    # and a DLQ that cannot be reached
    seen: list[str] = []
    first, later = payment("acct-1", 13, "pay-1"), payment("acct-1", 5, "pay-2")
    records = [sqs_record(e, queue=LEDGER, group_id="acct-1") for e in (first, later)]
    CallFaults(pipeline.clients.sqs, "SendMessageBatch", times=1, code="InternalError")
    # WHEN the batch runs
    answer = wire(pipeline, _ordered(seen)).handler(sqs_event(*records), None)
    # THEN the later payment never ran ahead of the refused one: both are retried, in order
    assert seen == ["pay-1"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}


def test_f4a_a_permanent_failure_on_its_dlq_lets_its_group_go_on(pipeline: Pipeline) -> None:
    seen: list[str] = []
    first, later = payment("acct-1", 13, "pay-1"), payment("acct-1", 5, "pay-2")
    records = [sqs_record(e, queue=LEDGER, group_id="acct-1") for e in (first, later)]
    answer = wire(pipeline, _ordered(seen)).handler(sqs_event(*records), None)
    assert seen == ["pay-1", "pay-2"]
    assert answer == {"batchItemFailures": []}
    [(letter, reason, _)] = letters(pipeline, "sluice-ledger-dlq.fifo")
    assert (json.loads(letter)["id"], reason) == (first.id, "business_rule")


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        (
            {"source": Source.FIFO_QUEUE, "group_by": "account_id", "idempotent": False},
            "batch=True cannot keep a FIFO queue's order",
        ),
        ({"idempotent": True}, "batch=True workers get no idempotency from the engine"),
    ],
    ids=["fifo", "idempotent"],
)
def test_f4b_a_batch_worker_refuses_fifo_and_idempotency_when_declared(
    settings: dict[str, Any], error: str
) -> None:
    with pytest.raises(ConfigurationError, match=error):

        @worker(catalog=CATALOG, subscribes=[PAYMENT_CAPTURED], batch=True, **settings)
        def bulk(events: list[Envelope[Any]]) -> list[str]:
            return []


def test_f4b_a_batch_worker_is_not_idempotent_by_default() -> None:
    @worker(catalog=CATALOG, subscribes=[PAYMENT_CAPTURED], batch=True)
    def bulk(events: list[Envelope[Any]]) -> list[str]:
        return []

    assert bulk.spec.idempotent is False


def _ledger_publisher(pipeline: Pipeline) -> Publisher:
    return Publisher.to_queue(
        pipeline.clients.sqs,
        pipeline.url(LEDGER),
        group_by={PAYMENT_CAPTURED: "account_id"},
        retry=RetryPolicy(attempts=2, base_s=0),
        sleep=lambda _: None,
    )


def _ledger_ids(pipeline: Pipeline) -> list[str]:
    return [json.loads(m["Body"])["data"]["payment_id"] for m in pipeline.drain(LEDGER)]


def test_f4c_a_refused_message_holds_back_its_group_in_the_same_call_and_after(
    pipeline: Pipeline,
) -> None:
    # GIVEN a publisher to the ledger, and SQS refusing pay-1 for good (a sender fault)
    first = payment("acct-1", 5, "pay-1")
    EntryFaults(
        pipeline.clients.sqs,
        "SendMessageBatch",
        fails=lambda text: json.loads(text)["id"] == first.id,
        code="InvalidParameterValue",
        sender_fault=True,
    )
    publisher = _ledger_publisher(pipeline)
    others = [payment("acct-1", 5, "pay-2"), payment("acct-2", 5, "pay-3")]
    # WHEN pay-1, pay-2 (same account) and pay-3 are published together, then pay-4 later
    result = publisher.publish([first, *others])
    later = publisher.publish([payment("acct-1", 5, "pay-4")])
    # THEN nothing of acct-1 after pay-1 was sent; acct-2 went on
    assert _ledger_ids(pipeline) == ["pay-3"]
    assert [f.code for f in result.failed] == ["InvalidParameterValue", GROUP_BLOCKED]
    assert [f.code for f in later.failed] == [GROUP_BLOCKED]
    assert publisher.blocked_groups == {"acct-1": first.id}
    assert "call release('acct-1')" in later.failed[0].message
    # WHEN the caller has dealt with pay-1 and releases the group THEN acct-1 flows again
    publisher.release("acct-1")
    assert publisher.publish([payment("acct-1", 5, "pay-5")]).ok
    assert _ledger_ids(pipeline) == ["pay-5"]


def test_f4c_a_group_refused_in_one_flush_stays_blocked_in_the_next(pipeline: Pipeline) -> None:
    # GIVEN a buffered publisher whose first flush has pay-1 refused after every retry
    first = payment("acct-1", 5, "pay-1")
    EntryFaults(
        pipeline.clients.sqs,
        "SendMessageBatch",
        fails=lambda text: json.loads(text)["id"] == first.id,
        times=2,
    )
    publisher = _ledger_publisher(pipeline)
    publisher.add(first)
    publisher.flush()
    # WHEN more of acct-1 is added and flushed (SQS would take pay-1 now)
    publisher.add(payment("acct-1", 5, "pay-2"))
    result = publisher.flush()
    # THEN pay-2 was not sent ahead of pay-1
    assert _ledger_ids(pipeline) == []
    assert [f.code for f in result.failed] == ["InternalError", GROUP_BLOCKED]


# --- finding 5: an envelope id too long to be a key is invalid, and claims are logged ---


def test_f5_an_envelope_id_of_2100_characters_is_an_invalid_envelope(pipeline: Pipeline) -> None:
    long_id = Envelope.new(ORDER_PLACED, order_data("o-1"), source="t", id="x" * 2100)
    good = placed("o-2", sku="G")
    records = [sqs_record(e, queue=INVENTORY) for e in (long_id, good)]
    answer = pipeline.worker("inventory").handler(sqs_event(*records), None)
    assert answer == {"batchItemFailures": []}
    assert pipeline.stock("G")["reserved"] == 1
    [(_, reason, detail)] = letters(pipeline, "sluice-inventory-dlq")
    assert (reason, detail) == (
        "invalid_envelope",
        "not an envelope: id: must be at most 1024 bytes (UTF-8), got 2100",
    )


def test_f5_a_claim_that_fails_is_logged(pipeline: Pipeline) -> None:
    # GIVEN an idempotency table that refuses every write
    # (audit claims each record; inventory is transact_only: its claim is in its transaction)
    CallFaults(pipeline.clients.dynamodb, "PutItem", times=5, code="InternalServerError")
    record = sqs_record(placed("o-1"), queue="sluice-audit")
    # WHEN a record is claimed THEN it is retried, and the log says why
    answer = pipeline.worker("audit").handler(sqs_event(record), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    logged = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    [claim] = [
        r for r in logged if r["message"] == "could not claim the record; it will be retried"
    ]
    assert (claim["message_id"], claim["reason"]) == (
        record["messageId"],
        "idempotency_unavailable",
    )
    assert "InternalServerError" in claim["exception"]


def test_f1_the_relay_holds_a_batch_with_an_event_sqs_and_sns_would_refuse(
    pipeline: Pipeline,
) -> None:
    # GIVEN a stored order whose correlation id holds a control character (SNS refuses it)
    record = _stream_record("101")
    record["dynamodb"]["NewImage"]["correlation_id"] = {"S": "corr\x01"}
    # WHEN the relay runs it THEN the batch fails as a whole (the shard waits, and the event
    # source bisects it), nothing is published, and the log says which event and why
    with pytest.raises(BatchFailedError, match="batch_item_failed"):
        pipeline.worker("relay").handler({"Records": [record]}, None)
    assert pipeline.drain("sluice-audit") == []
    logged = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
    [refused] = [r for r in logged if r["message"] == "event cannot be published"]
    assert "its correlation_id attribute holds character '\\x01'" in refused["detail"]


def test_f3_dlq_import_packs_by_bytes_and_a_failed_call_costs_only_its_lines(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # GIVEN three lines of 150 KB (one call each) and a queue whose second call fails
    bodies = [f"{n}" + "x" * BIG for n in range(3)]
    path = tmp_path / "dead.jsonl"
    path.write_text(
        "".join(
            json.dumps({"message_id": f"m-{n}", "body": b}) + "\n" for n, b in enumerate(bodies)
        )
    )
    CallFaults(pipeline.clients.sqs, "SendMessageBatch", times=1, code="InternalError", after=1)
    # WHEN they are imported
    target = Target(pipeline.clients, pipeline.topology, local=True)
    report = import_file(target, path, "sluice-audit", audit=tmp_path / "audit.jsonl")
    # THEN the first and the third arrived, and only the second is reported failed
    assert report.sent == 2
    assert [(f["line"], f["reason"][:40]) for f in report.failed] == [
        (2, "ClientError: An error occurred (Internal")
    ]
    assert sorted(m["Body"] for m in pipeline.drain("sluice-audit")) == [bodies[0], bodies[2]]
