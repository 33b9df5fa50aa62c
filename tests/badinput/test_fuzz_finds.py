"""What the fuzzers (tests/fuzz) found, each kept as a named case.

Found against the code before the hardening (issue 11); each failed there as named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sluice.local.http_front import ApiServer
from tests.conftest import Pipeline
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
