"""Fuzz the orders API through the real local HTTP front: any method, path, headers, body.

Invariants: every request gets a whole HTTP answer (never a dropped connection); no answer
is a 5XX; every refusal is problem+json that says why.
"""

from __future__ import annotations

import http.client
import json
import socket
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.api import OrdersApi, OrdersStore
from sluice.local.http_front import ApiServer
from sluice.local.logs import LogSink
from tests.conftest import Pipeline
from tests.factories import REGION
from tests.fuzz.strategies import bodies, json_values

METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]) | st.text(
    string.ascii_uppercase, min_size=1, max_size=8
)
_PATH_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
PATHS = st.one_of(
    st.sampled_from(["/orders", "/orders/", "/orders/ord-1", "/orders/ord-1/cancel", "/", "//"]),
    st.text(_PATH_CHARS, max_size=60).map(lambda p: "/" + p),
    st.text(_PATH_CHARS, min_size=1, max_size=40).map(lambda p: f"/orders/{p}/cancel"),
    st.integers(100, 5000).map(lambda n: "/orders/" + "x" * n),
)
_TOKEN = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=20)
_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
HEADERS = st.dictionaries(
    st.sampled_from(["Content-Type", "X-Correlation-Id", "Idempotency-Key", "Accept"]) | _TOKEN,
    st.sampled_from(["application/json", "application/problem+json", "text/plain", ""]) | _VALUE,
    max_size=5,
)
ORDERS = st.fixed_dictionaries(
    {"customer_id": json_values, "items": json_values | st.lists(json_values, max_size=3)}
).map(json.dumps)
BODIES = st.one_of(st.binary(max_size=500), bodies.map(str.encode), ORDERS.map(str.encode))


@pytest.fixture
def front(pipeline: Pipeline) -> Iterator[ApiServer]:
    """The orders API over real HTTP on 127.0.0.1, on the pipeline's moto."""
    api = OrdersApi(OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders")))
    server = ApiServer([api.handler], LogSink(None), region=REGION, prefix="fuzz").start()
    yield server
    server.stop()


def request(front: ApiServer, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
    """One request on its own connection, bytes as given; the answer as http.client reads it."""
    port = int(front.url.rsplit(":", 1)[1])
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        answer = http.client.HTTPResponse(sock, method=method)
        answer.begin()
        return answer.status, dict(answer.getheaders()), answer.read()


@given(method=METHODS, path=PATHS, headers=HEADERS, body=BODIES)
def test_any_request_gets_a_clear_answer_and_never_a_5xx(
    front: ApiServer, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    status, answer_headers, raw = request(front, method, path, headers, body)
    assert status < 500, raw
    if status >= 400:
        assert answer_headers["Content-Type"] == "application/problem+json"
        if method != "HEAD":
            problem = json.loads(raw)
            assert problem["status"] == status
            assert problem["detail"]


def test_a_content_length_that_is_no_number_is_a_400_problem(front: ApiServer) -> None:
    # catches: int("ten") raising inside the front, which dropped the connection
    port = int(front.url.rsplit(":", 1)[1])
    raw = b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        answer = http.client.HTTPResponse(sock, method="POST")
        answer.begin()
        assert answer.status == 400
        assert json.loads(answer.read())["detail"] == (
            "Content-Length must be a whole number of bytes"
        )


def test_a_json_body_that_is_no_utf8_is_a_400_problem(front: ApiServer) -> None:
    # catches: the front decoding a text body as UTF-8 itself, which dropped the connection
    headers = {"Content-Type": "application/json"}
    status, answer_headers, raw = request(front, "POST", "/orders", headers, b'{"a": "\xff"}')
    assert (status, answer_headers["Content-Type"]) == (400, "application/problem+json")
    assert json.loads(raw)["detail"].startswith("body is not JSON")
