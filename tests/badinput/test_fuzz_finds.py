"""What the fuzzers (tests/fuzz) found, each kept as a named case.

Found against the code before the hardening (issue 11), the ``invoke`` ones against 6976a55
(``tests/fuzz/test_fuzz_invoke.py``); each failed there as named.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.local.http_front import ApiServer
from sluice.ops.export import import_file
from sluice.target import Target
from tests.badinput.test_findings import _changes_worker, _stream_record, wire
from tests.conftest import Pipeline
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
