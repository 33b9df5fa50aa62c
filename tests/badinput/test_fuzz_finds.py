"""What the fuzzers (tests/fuzz) found, each kept as a named case.

Found against the code before the hardening (issue 11); each failed there as named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.local.http_front import ApiServer
from sluice.ops.export import import_file
from sluice.ops.inspect import show
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import replay_stream_failures
from sluice.target import Target
from tests.badinput.test_findings import _changes_worker, _stream_record, wire
from tests.conftest import Pipeline
from tests.functional.failure_records import FAILURES, KEY, change, invocation_record
from tests.fuzz.http import request, send, serve_api

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
