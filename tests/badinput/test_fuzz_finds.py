"""What the fuzzers (tests/fuzz) found, each kept as a named case.

Found against the code before the hardening (issue 11), the ``invoke`` ones against 6976a55
(``tests/fuzz/test_fuzz_invoke.py``); each failed there as named.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from events import STOCK_AUDIT_REQUESTED
from sluice.app import Schedule
from sluice.core.cron import fires, parse, zone
from sluice.local.http_front import ApiServer
from sluice.ops.export import import_file
from sluice.ops.inspect import show
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.runtime import ConfigurationError
from sluice.target import Target
from tests.badinput.test_findings import _changes_worker, _stream_record, wire
from tests.conftest import Pipeline
from tests.functional.failure_records import FAILURES, KEY, change, invocation_record
from tests.fuzz.http import request, send, serve_api
from tests.fuzz.test_fuzz_invoke import entry_on

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def front(pipeline: Pipeline) -> Iterator[ApiServer]:
    """The orders API over real HTTP on 127.0.0.1, on the pipeline's moto."""
    with serve_api(pipeline) as server:
        yield server


def problem(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, str, str]:
    """Status, content type and detail of a problem answer."""
    status, headers, raw = answer
    return status, headers["Content-Type"], str(json.loads(raw)["detail"])


def test_api_method_the_front_did_not_know_is_a_405_problem(front: ApiServer) -> None:
    # found: method 'A' on /orders answered http.server's 501 HTML page
    assert problem(request(front, "A", "/orders", {}, b"")) == (
        405,
        "application/problem+json",
        "A is not allowed on /orders; use POST",
    )


def test_api_content_length_that_is_no_number_is_a_400_problem(front: ApiServer) -> None:
    # found: int("ten") raised inside the front, which dropped the connection
    raw = b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"
    assert problem(send(front, raw, "POST")) == (
        400,
        "application/problem+json",
        "Content-Length must be a whole number of bytes",
    )


def test_api_json_body_that_is_no_utf8_is_a_400_problem(front: ApiServer) -> None:
    # found: the front decoded a text body as UTF-8 itself, which dropped the connection
    status, kind, detail = problem(request(front, "POST", "/orders", JSON, b'{"a": "\xff"}'))
    assert (status, kind) == (400, "application/problem+json")
    assert detail == (
        "body is not JSON: 'utf-8' codec can't decode byte 0xff in position 7: invalid start byte"
    )


def test_api_malformed_request_line_is_a_400_problem(front: ApiServer) -> None:
    # found: a path with a space answered http.server's HTML error page
    raw = b"GET /orders x y HTTP/1.1\r\nHost: x\r\n\r\n"
    status, kind, detail = problem(send(front, raw, "GET"))
    assert (status, kind) == (400, "application/problem+json")
    assert detail.startswith("Bad request")


@pytest.mark.parametrize(
    "stamp", [":", 9.223372036854776e18], ids=["time ':'", "time 9.2e18 (OSError errno 75)"]
)
def test_stream_record_creation_times_the_fuzzer_found(pipeline: Pipeline, stamp: object) -> None:
    # found: float(":") and fromtimestamp(9.2e18) raised out of the engine (whole batch failed)
    seen: list[str] = []
    records = [_stream_record("101", ApproximateCreationDateTime=stamp), _stream_record("102")]
    answer = wire(pipeline, _changes_worker(seen)).handler({"Records": records}, None)
    assert (seen, answer) == (["101", "102"], {"batchItemFailures": []})


def test_import_line_that_is_no_utf8_is_skipped(pipeline: Pipeline, tmp_path: Path) -> None:
    # found: b"\x80" raised UnicodeDecodeError out of the import, after nothing was sent
    path = tmp_path / "dead.jsonl"
    path.write_bytes(b"\x80\n")
    report = import_file(
        Target(pipeline.clients, pipeline.topology, local=True), path, "sluice-audit"
    )
    assert (report.sent, [s["line"] for s in report.skipped]) == (0, [1])
    assert report.skipped[0]["reason"].startswith("line 1: not JSON (UnicodeDecodeError: ")


def test_import_body_nested_too_deep_is_sent_and_audited(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # found: the body was sent, then reading its envelope id raised RecursionError, so the
    # send was never audited and the import died
    deep = "[" * 100_000
    path = tmp_path / "dead.jsonl"
    path.write_text(json.dumps({"message_id": "m-1", "body": deep}) + "\n")
    audit = tmp_path / "audit.jsonl"
    target = Target(pipeline.clients, pipeline.topology, local=True)
    report = import_file(target, path, "sluice-audit", audit=audit)
    assert report.sent == 1
    assert [m["Body"] for m in pipeline.drain("sluice-audit")] == [deep]
    [line] = audit.read_text().splitlines()
    assert json.loads(line)["envelope_id"] is None


# --- schedules (tests/fuzz/test_fuzz_schedules.py) ---


def _declared(expression: str, timezone: str = "UTC") -> str:
    """The error declaring the schedule raised."""
    with pytest.raises(ConfigurationError) as caught:
        Schedule("fuzzed", expression, STOCK_AUDIT_REQUESTED, {"scope": "x"}, timezone=timezone)
    return str(caught.value)


@pytest.mark.parametrize(
    ("value", "most"),
    [("9" * 5000, "120968639 minutes"), ("3000000", "84005 days"), ("784352270737", "84005 days")],
    ids=["5000 digits (ValueError)", "past 9999 (ValueError)", "past 9999 (OSError errno 75)"],
)
def test_schedule_rate_longer_than_the_years_it_runs_in_is_a_clear_error(
    value: str, most: str
) -> None:
    # found: int() of 5000 digits raised ValueError; a period stepping past the year 9999 made
    # datetime.fromtimestamp raise ValueError or OSError out of the declaration
    unit = most.split()[1]
    expression = f"rate({value} {unit})"
    assert _declared(expression) == (
        f"schedule 'fuzzed': {expression!r}: a period as long as 1970-2199 never fires; "
        f"use at most {most}"
    )


def test_schedule_rate_steps_to_its_last_slot_and_stops() -> None:
    # found: stepping rate(488817 days) raised ValueError (year 10000 is out of range)
    rate = parse("rate(84005 days)")
    assert list(fires(rate, datetime(2000, 1, 1, tzinfo=UTC), zone("UTC"))) == [
        datetime(2199, 12, 31, tzinfo=UTC)
    ]


@pytest.mark.parametrize(
    "name", ["America", "a" * 300], ids=["a folder (IsADirectoryError)", "too long (OSError)"]
)
def test_schedule_time_zone_that_is_a_folder_or_too_long_is_a_clear_error(name: str) -> None:
    # found: ZoneInfo raised IsADirectoryError / OSError (file name too long) out of zone()
    assert _declared("rate(1 hour)", name) == (
        f"schedule 'fuzzed': time zone {name!r} is not an IANA time zone name "
        "(e.g. 'UTC', 'Europe/Paris')"
    )


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ("9" * 5000, f"{'9' * 5000} is out of range 0-59"),
        ("\u00b2", "'\u00b2' is not a number 0-59"),
        ("\u0663", "'\u0663' is not a number 0-59"),
    ],
    ids=["5000 digits (ValueError)", "superscript two (ValueError)", "Arabic-Indic three (taken)"],
)
def test_schedule_cron_number_in_other_digits_or_too_long_is_a_clear_error(
    field: str, says: str
) -> None:
    # found: int() raised ValueError on 5000 digits and on "²" (str.isdigit takes both), and
    # "٣" was read as 3
    expression = f"cron({field} * * * ? *)"
    assert (
        _declared(expression)
        == f"schedule 'fuzzed': {expression!r}: minutes field {field!r}: {says}"
    )


LINE = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}
SEGMENT = (
    "must be one path segment: letters, digits, _ and -.~()'!*:@,;=+&$%<> []{}|^ "
    "(no '/', '?', '#', control characters or other symbols)"
)
SURROGATE = "the body holds a lone surrogate escape (e.g. \\ud800), which is no Unicode text"


@pytest.mark.parametrize(
    "payload",
    [
        {"op": "place_order", "body": {"customer_id": "\ud800", "items": [LINE]}},
        {"op": "cancel_order", "params": {"order_id": "ord-1"}, "body": {"reason": "\udfff"}},
    ],
    ids=["place_order customer", "cancel_order reason"],
)
def test_invoke_body_with_a_lone_surrogate_is_the_http_problem(
    pipeline: Pipeline, payload: dict[str, Any]
) -> None:
    # found: a "\ud800" escape in a payload's body raised UnicodeEncodeError in the route:
    # a 500, so Lambda reported a crash (retry) for a call that can never succeed
    answer = entry_on(pipeline)(payload, None)
    assert (answer["ok"], answer["status"], answer["problem"]["detail"]) == (
        False,
        400,
        SURROGATE,
    )


@pytest.mark.parametrize("suffix", ["\n", "?x", "#x", "€"])
def test_invoke_param_no_route_can_match_is_a_400(pipeline: Pipeline, suffix: str) -> None:
    # found: "ord-1\n" read order ord-1 (the route's pattern ends with $, which matches
    # before a final newline); "ord-1?x" answered 405 "GET is not allowed ...; use GET"
    entry = entry_on(pipeline)
    placed = entry({"op": "place_order", "body": {"customer_id": "c", "items": [LINE]}}, None)
    order_id = placed["body"]["id"]
    answer = entry({"op": "get_order", "params": {"order_id": order_id + suffix}}, None)
    assert (answer["ok"], answer["status"]) == (False, 400)
    assert answer["problem"]["detail"] == (f"params.order_id: {SEGMENT}, got {order_id + suffix!r}")


def test_invoke_caller_with_a_lone_surrogate_is_a_400(pipeline: Pipeline) -> None:
    # found: the caller scopes the order id (uuid5 encodes it as UTF-8): a 500, a crash
    payload = {"op": "place_order", "body": {"customer_id": "c", "items": [LINE]}}
    answer = entry_on(pipeline)({**payload, "idempotency_key": "k", "caller": "\ud800"}, None)
    assert (answer["ok"], answer["status"]) == (False, 400)
    assert answer["problem"]["detail"].endswith("got '\\ud800'")


def test_invoke_empty_correlation_id_is_answered_with_a_new_one(pipeline: Pipeline) -> None:
    # found: a refused payload with "correlation_id": "" was answered with an empty one
    answer = entry_on(pipeline)({"op": "nope", "correlation_id": ""}, None)
    assert (answer["ok"], answer["status"]) == (False, 404)
    assert uuid.UUID(answer["correlation_id"])


def test_dlq_body_nested_too_deep_is_shown_with_the_reason(pipeline: Pipeline) -> None:
    # found: json.loads raised RecursionError while reading the message (Scheduler request?
    # S3 notice? stream record?), out of every DLQ tool: show, replay, export
    pipeline.clients.sqs.send_message(QueueUrl=pipeline.url(FAILURES), MessageBody="[" * 100_000)
    target = Target(pipeline.clients, pipeline.topology, local=True)
    [row] = show(target, FAILURES)
    assert row["problem"].startswith("malformed_json: body is not JSON: maximum recursion depth")


def _failure_object(pipeline: Pipeline, doc: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """``doc`` in the relay's failure bucket, announced on its queue; the replay's report."""
    bucket = pipeline.provisioned.failure_buckets[FAILURES]
    pipeline.clients.client("s3").put_object(Bucket=bucket, Key=KEY, Body=json.dumps(doc))
    target = Target(pipeline.clients, pipeline.topology, local=True)
    options = ReplayOptions(audit_path=tmp_path / "audit.jsonl")
    return replay_stream_failures(target, FAILURES, options).to_json()


def test_failure_object_whose_range_is_no_number_fails_with_the_reason(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # found: int("None") raised ValueError out of the replay (startSequenceNumber: null)
    doc = invocation_record([change("ord-null", 990)])
    doc["DDBStreamBatchInfo"]["startSequenceNumber"] = None
    report = _failure_object(pipeline, doc, tmp_path)
    [failed] = report["failed"]
    bucket = pipeline.provisioned.failure_buckets[FAILURES]
    assert failed["reason"] == (
        f"s3://{bucket}/{KEY} is a stream failure record, but its DDBStreamBatchInfo names no "
        "sequence range (startSequenceNumber..endSequenceNumber)"
    )


def test_failure_object_naming_a_shard_the_stream_refuses_fails_with_the_reason(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # found: GetShardIterator's ParamValidationError (a shard id shorter than 28 characters)
    # escaped the replay of an object without payload
    doc = invocation_record([change("ord-shard", 991)], payload=False)
    doc["DDBStreamBatchInfo"]["shardId"] = "shardId-1"
    report = _failure_object(pipeline, doc, tmp_path)
    [failed] = report["failed"]
    assert failed["reason"].startswith(
        "the stream no longer holds shard shardId-1 sequences 991..991 (Parameter validation"
    )
    assert failed["reason"].endswith("; replay with --from-table")
