"""Bad input per entry point: what arrives, the exact error, where the input ends up.

This is the one list of bad input. Cases that already live next to an entry point's own
tests are referenced in ``ELSEWHERE`` (run there, not copied here).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

from sluice.core import Envelope
from tests.badinput.entries import Api, Cli, Entry, Import, Invoke, Publish, Queue, Relay
from tests.factories import REGION, cancelled, payment, placed, sns_wrapped

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:sluice-events"
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Case:
    """One bad input at one entry point."""

    entry: Entry
    id: str
    given: Any
    error: str
    where: dict[str, int] = field(default_factory=dict)


def envelope(base: Envelope[Any], drop: tuple[str, ...] = (), **changes: Any) -> str:
    """An envelope's JSON with fields changed or dropped."""
    doc = base.to_dict()
    doc.update(changes)
    for name in drop:
        del doc[name]
    return json.dumps(doc)


def data(base: Envelope[Any], **changes: Any) -> str:
    """An envelope's JSON with payload fields changed."""
    doc = base.to_dict()
    doc["data"] = {**doc["data"], **changes}
    return json.dumps(doc)


ORDER = placed("ord-1", sku="SKU-1")
PAY = payment("acct-1", 500, payment_id="pay-1")
LINE = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}


def order_item(**fields: Any) -> dict[str, Any]:
    """An orders-table item as written behind the API's back (DynamoDB JSON)."""
    item: dict[str, Any] = {
        "id": {"S": "ord-bad"},
        "customer_id": {"S": "c"},
        "status": {"S": "PLACED"},
        "currency": {"S": "EUR"},
        "correlation_id": {"S": "corr-bad"},
        "items": {"L": [{"M": {k: _attr(v) for k, v in LINE.items()}}]},
    }
    item.update(fields)
    return {k: v for k, v in item.items() if v is not None}


def _attr(value: Any) -> dict[str, Any]:
    return {"N": str(value)} if isinstance(value, int) else {"S": str(value)}


def _line(**fields: Any) -> dict[str, Any]:
    return {"L": [{"M": {k: _attr(v) for k, v in {**LINE, **fields}.items()}}]}


def wrapped(message: str) -> str:
    """An SNS notification (raw delivery off) whose Message is ``message``."""
    note = json.loads(sns_wrapped(ORDER))
    note["Message"] = message
    return json.dumps(note)


def named(event: Envelope[Any]) -> Envelope[Any]:
    """The envelope with a fixed id, so errors naming it can be matched exactly."""
    return replace(event, id="env-1")


def export_line(**fields: Any) -> str:
    """One line of a ``sluice dlq export`` file."""
    doc = {"message_id": "m-1", "source": "sluice-audit-dlq", "body": ORDER.to_json()}
    doc.update(fields)
    return json.dumps(doc) + "\n"


API, INV, REC, AUD, LED = (
    Api(),
    Queue("inventory"),
    Queue("receipts"),
    Queue("audit"),
    Queue("ledger"),
)
RELAY, PUB, IMPORT, INVOKE, CLI = Relay(), Publish(), Import(), Invoke(), Cli()
DLQ = {"dlq": 1, "dlq_says_worker": 1}
"""Dead-lettered as it came, by the worker that refused it; nothing left on the source."""
STREAM = {"stream": 1, "failed_is_the_bad_one": 1, "published": 1}
"""Only the bad record failed (the stream keeps it for the retries and the on-failure
destination); the good order before it was published."""
CALLER = {"caller": 1}
"""Nothing sent: the caller still holds the envelope (raised, or returned as failed)."""
KEPT = {"file_unchanged": 1}
"""Nothing sent or audited; the export file is as it was."""
GOOD = order_item(id={"S": "ord-good"}, correlation_id={"S": "corr-good"})

CASES: list[Case] = [
    # --- API (the validation matrix is tests/functional/test_api_bad_input.py) ---
    Case(
        API,
        "cancel twice",
        ("POST", "/orders/{cancelled}/cancel", None, {}),
        "409 order {cancelled} is already CANCELLED; only PLACED orders can be cancelled",
    ),
    Case(
        API,
        "null body",
        ("POST", "/orders", "null", JSON),
        "400 the body must be a JSON object, got null",
    ),
    Case(
        API,
        "number body",
        ("POST", "/orders", "42", JSON),
        "400 the body must be a JSON object, got integer",
    ),
    Case(
        API,
        "negative price",
        (
            "POST",
            "/orders",
            json.dumps({"customer_id": "c", "items": [{**LINE, "unit_price_cents": -5}]}),
            JSON,
        ),
        "400 items[0].unit_price_cents: must be at least 0, got -5",
    ),
    Case(
        API,
        "empty sku",
        ("POST", "/orders", json.dumps({"customer_id": "c", "items": [{**LINE, "sku": ""}]}), JSON),
        "400 items[0].sku: must have at least 1 character, got 0",
    ),
    Case(
        API,
        "huge quantity",
        (
            "POST",
            "/orders",
            json.dumps({"customer_id": "c", "items": [{**LINE, "quantity": 10**30}]}),
            JSON,
        ),
        f"400 items[0].quantity: must be at most 1000, got {10**30}",
    ),
    Case(
        API,
        "float quantity",
        (
            "POST",
            "/orders",
            json.dumps({"customer_id": "c", "items": [{**LINE, "quantity": 1.5}]}),
            JSON,
        ),
        "400 items[0].quantity: must be an integer, got number",
    ),
    Case(
        API,
        "cancel reason too long",
        ("POST", "/orders/{placed}/cancel", json.dumps({"reason": "x" * 501}), JSON),
        "400 reason: must be a string of 1 to 500 characters",
    ),
    Case(
        API,
        "cancel reason empty",
        ("POST", "/orders/{placed}/cancel", json.dumps({"reason": ""}), JSON),
        "400 reason: must be a string of 1 to 500 characters",
    ),
    # --- queue workers (more in tests/functional/test_bad_records.py) ---
    Case(
        INV,
        "empty body",
        "",
        "malformed_json: body is not JSON: Expecting value: line 1 column 1 (char 0)",
        DLQ,
    ),
    Case(
        INV,
        "100 000 '['",
        "[" * 100_000,
        "malformed_json: body is not JSON: maximum recursion depth exceeded while decoding a "
        "JSON array from a unicode string",
        DLQ,
    ),
    Case(
        INV,
        "5000-digit number",
        "9" * 5000,
        "malformed_json: body is not JSON: Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit",
        DLQ,
    ),
    Case(
        INV,
        "json null",
        "null",
        "invalid_envelope: an envelope must be a JSON object, got null",
        DLQ,
    ),
    Case(
        INV,
        "time not a timestamp",
        envelope(ORDER, time="yesterday"),
        "invalid_envelope: not an envelope: time: must be an RFC 3339 timestamp, got 'yesterday'",
        DLQ,
    ),
    Case(
        INV,
        "empty id",
        envelope(ORDER, id=""),
        "invalid_envelope: not an envelope: id: must have at least 1 character, got 0",
        DLQ,
    ),
    Case(
        INV,
        "no data",
        envelope(ORDER, drop=("data",)),
        "invalid_envelope: not an envelope: data: required field is missing",
        DLQ,
    ),
    Case(
        INV,
        "zero quantity",
        data(ORDER, items=[{**LINE, "quantity": 0}]),
        "invalid_payload: data.items[0].quantity: must be at least 1, got 0",
        DLQ,
    ),
    Case(
        INV,
        "no items",
        data(ORDER, items=[]),
        "invalid_payload: data.items: must have at least 1 item, got 0",
        DLQ,
    ),
    Case(
        INV,
        "unknown payload field",
        data(ORDER, coupon="FREE"),
        "invalid_payload: data.coupon: unknown field",
        DLQ,
    ),
    Case(
        INV,
        "version zero",
        envelope(ORDER, version=0),
        "invalid_envelope: not an envelope: version: must be at least 1, got 0",
        DLQ,
    ),
    Case(
        REC,
        "cancel reaches receipts",
        cancelled("ord-1").to_json(),
        "not_subscribed: worker 'receipts' does not subscribe to 'order.cancelled'",
        DLQ,
    ),
    Case(
        REC,
        "sns message not json",
        wrapped("<order/>"),
        "malformed_json: body is not JSON: Expecting value: line 1 column 1 (char 0)",
        DLQ,
    ),
    Case(
        AUD,
        "unknown type",
        envelope(ORDER, type="order.shipped"),
        "unknown_event_type: unknown event type 'order.shipped'; "
        "known types: order.cancelled, order.placed, payment.captured, stock.audit_requested",
        DLQ,
    ),
    Case(
        AUD,
        "data not an object",
        envelope(ORDER, data=[1, 2]),
        "invalid_payload: data: must be an object, got array",
        DLQ,
    ),
    Case(
        LED,
        "negative amount",
        data(PAY, amount_cents=-5),
        "invalid_payload: data.amount_cents: must be at least 1, got -5",
        DLQ,
    ),
    Case(
        LED,
        "order on the ledger",
        ORDER.to_json(),
        "not_subscribed: worker 'ledger' does not subscribe to 'order.placed'",
        DLQ,
    ),
    Case(
        LED,
        "fifo body not json",
        "{",
        "malformed_json: body is not JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        DLQ,
    ),
    # --- relay: items written behind the API's back break the contract ---
    Case(
        RELAY,
        "negative quantity",
        [GOOD, order_item(items=_line(quantity=-1))],
        "invalid_payload: data.items[0].quantity: must be at least 1, got -1",
        STREAM,
    ),
    Case(
        RELAY,
        "fractional quantity",
        [
            GOOD,
            order_item(
                items={
                    "L": [
                        {
                            "M": {
                                "sku": {"S": "SKU-1"},
                                "quantity": {"N": "1.5"},
                                "unit_price_cents": {"N": "100"},
                            }
                        }
                    ]
                }
            ),
        ],
        "invalid_payload: data.items[0].quantity: must be an integer, got number",
        STREAM,
    ),
    Case(
        RELAY,
        "quantity as text",
        [GOOD, order_item(items=_line(quantity="2"))],
        "invalid_payload: data.items[0].quantity: must be an integer, got string",
        STREAM,
    ),
    Case(
        RELAY,
        "no customer",
        [GOOD, order_item(customer_id=None)],
        "invalid_payload: data.customer_id: must be a string, got null",
        STREAM,
    ),
    Case(
        RELAY,
        "bad currency",
        [GOOD, order_item(currency={"S": "euro"})],
        "invalid_payload: data.currency: must match [A-Z]{3}, got 'euro'",
        STREAM,
    ),
    Case(
        RELAY,
        "items not a list",
        [GOOD, order_item(items={"S": "SKU-1"})],
        "invalid_payload: data.items: must be an array, got string",
        STREAM,
    ),
    Case(
        RELAY,
        "price as text",
        [GOOD, order_item(items=_line(unit_price_cents="cheap"))],
        "invalid_payload: data.items[0].unit_price_cents: must be an integer, got string",
        STREAM,
    ),
    # --- publisher (more in tests/functional/test_publisher.py) ---
    Case(
        PUB,
        "group field empty",
        (
            "sluice-ledger.fifo",
            [named(payment("", 5))],
            {"group_by": {"payment.captured": "account_id"}},
        ),
        "GroupingError: envelope env-1 (payment.captured) "
        "has no data field 'account_id' to group by",
        CALLER,
    ),
    Case(
        PUB,
        "no such topic",
        (TOPIC + "-gone", [placed()], {}),
        "NotFound (sender fault: True)",
        CALLER,
    ),
    Case(
        PUB,
        "no such queue",
        (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/gone", [placed()], {}),
        "AWS.SimpleQueueService.NonExistentQueue (sender fault: True)",
        CALLER,
    ),
    Case(
        PUB,
        "buffered, to a missing queue",
        (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/gone", [placed()], {"buffered": True}),
        "PublishFailedError: 1 of 1 envelopes were not published "
        "(AWS.SimpleQueueService.NonExistentQueue); see .result.failed",
        CALLER,
    ),
    # --- replay import (more in tests/functional/test_dlq_export.py) ---
    Case(
        IMPORT,
        "body is a number",
        (export_line(body=5), "sluice-audit"),
        "line 1: needs a string 'body' (write lines with `sluice dlq export`)",
        KEPT,
    ),
    Case(
        IMPORT,
        "line is an array",
        ("[1]\n", "sluice-audit"),
        "line 1: needs a string 'body' (write lines with `sluice dlq export`)",
        KEPT,
    ),
    Case(
        IMPORT,
        "attributes not an object",
        (export_line(attributes=[1]), "sluice-audit"),
        "line 1: attributes must be an object, got list",
        KEPT,
    ),
    Case(
        IMPORT,
        "attribute without a type",
        (export_line(attributes={"a": {"StringValue": "x"}}), "sluice-audit"),
        "line 1: attribute 'a' needs a DataType and a value",
        KEPT,
    ),
    Case(
        IMPORT,
        "binary attribute not base64",
        (
            export_line(attributes={"a": {"DataType": "Binary", "BinaryValue": "***"}}),
            "sluice-audit",
        ),
        "line 1: Only base64 data is allowed",
        KEPT,
    ),
    Case(
        IMPORT,
        "to an unknown topic",
        (export_line(), TOPIC + "-gone"),
        f"DestinationError: --to '{TOPIC}-gone': no such topic in AWS {REGION}",
        KEPT,
    ),
    Case(
        IMPORT,
        "string attribute not text",
        (export_line(attributes={"a": {"DataType": "String", "StringValue": 5}}), "sluice-audit"),
        "line 1: attribute 'a' has neither StringValue nor BinaryValue",
        KEPT,
    ),
]

NOT_RUNNING = (
    "error: the sandbox at {endpoint} is not running (pid {pid}): start it with `sluice up`"
)
NO_SANDBOX = (
    "error: no sandbox is running ({tmp}/state/sandbox.json does not exist): "
    "start one with `sluice up`"
)
DLQS = (
    "sluice-audit-dlq, sluice-audit-sub-dlq, sluice-inventory-dlq, sluice-inventory-sub-dlq, "
    "sluice-ledger-dlq.fifo, sluice-receipts-dlq, sluice-receipts-sub-dlq, "
    "sluice-relay-stream-failures, sluice-stocktake-dlq, sluice-stocktake-sub-dlq, "
    "sluice-nightly-stocktake-schedule-dlq"
)
WORKERS = "audit, inventory, ledger, receipts, relay, stocktake"
EXIT_2 = {"exit": 2}
"""One line, no traceback, exit 2: the command could not run as asked, and did nothing."""


def cli(sandbox: str, line: str, error: str, where: dict[str, int] | None = None) -> Case:
    """A ``sluice`` command line, on no sandbox (""), a ``stale`` or a ``live`` one."""
    args = tuple(shlex.split(line))
    return Case(CLI, f"{sandbox or 'no'} sandbox: {line}", (sandbox, args), error, where or EXIT_2)


# --- the sluice command (issue 24): every command; usage errors are typer's own ---
CASES += [
    cli("", "new {tmp}/bad.json", "error: {tmp}/bad.json: Not a directory"),
    cli("", "publish {tmp}/missing.jsonl", "error: {tmp}/missing.jsonl: No such file or directory"),
    cli(
        "",
        "publish {tmp}/bad.json",
        "error: line 1: not JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
    ),
    cli("stale", "publish --local --type stock.audit_requested --data {}", NOT_RUNNING),
    cli("", "up --hosted-elsewhere nosuch", f"error: no worker named 'nosuch'; workers: {WORKERS}"),
    cli(
        "",
        "up --hosted-elsewhere relay",
        "error: worker 'relay' reads a DynamoDB stream, which only the sandbox polls: only "
        "queue workers can be hosted elsewhere (`sluice work` consumes queues)",
    ),
    cli("", "up --log-file {tmp}/folder", "error: {tmp}/folder: Is a directory"),
    cli("", "demo --log-file {tmp}/folder", "error: {tmp}/folder: Is a directory"),
    cli(
        "", "invoke nosuch --event sqs_raw", f"error: no worker named 'nosuch'; workers: {WORKERS}"
    ),
    cli(
        "",
        "invoke inventory --event {tmp}/bad.json",
        "error: {tmp}/bad.json is not JSON: Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)",
    ),
    cli("stale", "invoke inventory --event sqs_raw --local", NOT_RUNNING),
    cli(
        "",
        "trace some-id --local",
        "error: no sandbox log at {tmp}/state/sandbox.log: run `sluice up` or `sluice demo` first",
    ),
    cli("", "trace some-id --log-file {tmp}/folder", "error: {tmp}/folder: Is a directory"),
    cli(
        "",
        "graph -o {tmp}/no/such/g.mmd",
        "error: cannot write {tmp}/no/such/g.mmd: No such file or directory",
    ),
    cli("", "dlq ls --local", NO_SANDBOX),
    cli("stale", "dlq ls --local", NOT_RUNNING),
    cli("live", "dlq show nosuch --local", f"error: no DLQ named 'nosuch'; the DLQs are: {DLQS}"),
    cli(
        "live",
        "dlq replay NOSUCHDLQ --local",
        f"error: no DLQ named 'NOSUCHDLQ'; the DLQs are: {DLQS}",
    ),
    cli(
        "live",
        "dlq replay inventory --since yesterday --local",
        "error: --since 'yesterday' is neither an ISO 8601 time (2026-11-23T18:00:00Z) nor "
        "a span ago (30m, 2h, 1d)",
    ),
    cli(
        "live",
        "dlq replay inventory --audit-log {tmp}/folder --local",
        "error: cannot append to the audit log {tmp}/folder: Is a directory; nothing was moved",
    ),
    cli(
        "live",
        "dlq export inventory {tmp}/folder --local",
        "error: cannot append to {tmp}/folder: Is a directory",
    ),
    cli(
        "live",
        "dlq import {tmp}/all-bad.jsonl --to sluice-audit --local",
        "sent 0 messages from {tmp}/all-bad.jsonl to sluice-audit\n"
        "  skipped line 1: line 1: not JSON (JSONDecodeError: Expecting property name enclosed "
        "in double quotes: line 1 column 2 (char 1))\n"
        "  skipped line 2: line 2: needs a string 'body' (write lines with `sluice dlq export`)",
        {"exit": 1},
    ),
    cli(
        "live",
        "dlq purge inventory --yes --backup {tmp}/folder --local",
        "error: cannot append to {tmp}/folder: Is a directory",
    ),
    cli("stale", "schedule ls --local", NOT_RUNNING),
    cli(
        "live",
        "schedule fire nosuch --local",
        "error: no schedule 'nosuch' is declared; schedules: nightly-stocktake",
    ),
    cli(
        "live",
        "schedule fire nightly-stocktake --at tomorrow --local",
        "error: --at 'tomorrow' is not an ISO 8601 time (e.g. 2026-12-01T01:00:00Z)",
    ),
    cli("", "env --local", NO_SANDBOX),
    cli("stale", "env --local", NOT_RUNNING),
    cli("", "top --local --once", NO_SANDBOX),
    cli("stale", "top --local --once", NOT_RUNNING),
    cli("stale", "work receipts --local", NOT_RUNNING),
    cli("live", "work nosuch --local", f"error: no worker named 'nosuch'; workers: {WORKERS}"),
    cli("", "catalog --json-schema -o {tmp}/bad.json", "error: {tmp}/bad.json: File exists"),
    cli(
        "",
        "capacity --rate fast",
        "error: --rate 'fast': give events per unit of time, e.g. 10000/s, 600/min or 36000/h",
    ),
    cli(
        "",
        "capacity --rate 10/s --set inventory.max_invocations=1",
        "error: --set inventory.max_invocations=1: worker 'inventory' (workers.inventory): "
        "max_concurrency >= 1 and max_invocations >= 2",
    ),
    cli(
        "",
        "capacity --rate 10/s --set nosuch.knob=1",
        "error: --set nosuch.knob: no such knob; NAME.SETTING where NAME is api, aws (a "
        "data-file entry), a table (idempotency, orders, state) or a worker (audit, inventory, "
        "ledger, receipts, relay, stocktake); sluice capacity --knobs lists them",
    ),
]
CASES += [replace(case, entry=INVOKE) for case in CASES if case.entry is API]
"""Every API case again over Lambda Invoke: the same request as a payload, the same error."""

ELSEWHERE: dict[str, list[str]] = {
    "api": [
        # 35 requests: body shape and fields, media type, size, headers, routes and methods
        "tests/functional/test_api_bad_input.py::"
        "test_bad_input_is_refused_with_a_problem_and_changes_nothing",
        "tests/functional/test_api_bad_input.py::test_a_body_marked_base64_that_is_not_is_400",
        "tests/functional/test_api.py::test_same_key_with_another_body_is_409_and_changes_nothing",
        "tests/functional/test_api.py::test_cancel_unknown_order_is_404_and_creates_nothing",
    ],
    "queue": [
        # 8 bodies: not JSON, not an object, envelope fields, payload, unknown type and version
        "tests/functional/test_bad_records.py::test_a_bad_record_lands_in_the_dlq_with_its_reason",
        "tests/functional/test_bad_records.py::"
        "test_an_event_the_worker_does_not_subscribe_to_is_dead_lettered",
        "tests/functional/test_bad_records.py::"
        "test_a_permanent_failure_that_cannot_reach_a_dlq_stays_on_its_queue",
        "tests/functional/test_engine.py::"
        "test_invocations_that_are_not_our_batches_raise_before_touching_anything",
    ],
    "invoke": [
        # the HTTP matrix mirrored case by case, the payload's own shape, proxy-shaped events,
        # and keys without a caller (or with one that is no principal)
        "tests/functional/test_invoke_bad_input.py::"
        "test_an_invoke_gets_the_same_problem_as_http_and_changes_nothing",
        "tests/functional/test_invoke_bad_input.py::"
        "test_a_malformed_payload_gets_a_problem_answer_not_a_crash",
        "tests/functional/test_invoke_bad_input.py::"
        "test_a_malformed_proxy_event_gets_a_400_problem_not_a_crash",
        "tests/functional/test_invoke_key_spaces.py::"
        "test_two_services_that_do_not_name_themselves_share_no_order",
        "tests/functional/test_invoke_key_spaces.py::"
        "test_a_caller_that_is_no_principal_arn_is_refused",
    ],
    "relay": [
        "tests/functional/test_relay.py::"
        "test_a_stored_item_that_breaks_the_contract_fails_only_its_record",
    ],
    "publisher": [
        "tests/functional/test_publisher.py::test_an_oversize_envelope_is_refused_before_any_call",
        "tests/functional/test_publisher.py::test_fifo_without_a_group_field_fails_before_any_call",
        "tests/functional/test_publisher_cli.py::test_bad_input_sends_nothing_and_says_where",
        "tests/functional/test_publisher_cli.py::test_configuration_and_usage_errors_exit_2",
    ],
    "import": [
        "tests/functional/test_dlq_export.py::"
        "test_malformed_import_lines_are_skipped_with_the_reason",
        "tests/functional/test_dlq_export.py::"
        "test_import_to_a_missing_destination_or_file_is_an_error",
    ],
    "cli": [
        # issue 24: each finding's own test, where the input needs a running sandbox or a signal
        "tests/sandbox/test_operator_cli.py::"
        "test_every_local_command_says_a_killed_sandbox_is_not_running",
        "tests/sandbox/test_operator_cli.py::test_graph_to_a_missing_folder_is_a_one_line_error",
        "tests/sandbox/test_operator_cli.py::"
        "test_trace_local_follows_a_request_through_the_sandbox",
        "tests/sandbox/test_operator_cli.py::test_up_writes_each_log_line_as_it_happens",
        "tests/sandbox/test_operator_cli.py::"
        "test_up_hosted_elsewhere_leaves_the_worker_to_sluice_work",
        "tests/functional/test_dlq_export.py::test_export_to_a_folder_is_an_error_and_holds_nothing",
        "tests/functional/test_dlq_export.py::test_import_exits_1_when_any_line_is_refused",
        "tests/functional/test_dlq_replay.py::"
        "test_a_refused_replay_prints_its_error_and_no_progress_bar",
        "tests/functional/test_dlq_replay.py::"
        "test_a_replay_whose_audit_log_cannot_be_written_sends_nothing",
        "tests/functional/test_replay_crash.py::"
        "test_ctrl_c_prints_the_summary_releases_what_it_held_and_exits_130",
        "tests/functional/test_publisher_cli.py::test_configuration_and_usage_errors_exit_2",
    ],
}
"""Bad-input tests that live next to their entry point's other tests, by pytest node id."""
