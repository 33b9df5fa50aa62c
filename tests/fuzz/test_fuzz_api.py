"""Fuzz the orders API through the real local HTTP front: any method, path, headers, body.

Invariants: every request gets a whole HTTP answer (never a dropped connection); no answer
is a 5XX; every refusal is problem+json that says why.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.local.http_front import ApiServer
from tests.conftest import Pipeline
from tests.fuzz.http import request, serve_api
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
    with serve_api(pipeline) as server:
        yield server


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
