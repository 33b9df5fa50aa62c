"""Which entry point: Lambda Invoke against HTTP through the local front, in the sandbox.

Both sides are ``producers.client.OrdersClient`` calling the same API function in the same
sandbox, one call at a time, interleaved: over Lambda Invoke (boto3's Lambda client to the
sandbox's Invoke endpoint) and over SigV4-signed HTTP to the local front (which turns the
request into an API Gateway proxy event). The function alone, called in-process with a
payload, is the floor; what each entry adds is its latency above that floor. The ratio is
of medians measured in one run (machines differ ~2x in absolute figures). There is no
target: the sandbox has no API Gateway hop, so this measures the local plumbing of each
entry (boto3's Lambda client and the Invoke endpoint, against a signed request and the
proxy-event translation), not what AWS adds.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable

import boto3

from bench.harness import Row, compare, interleaved, median_spread, scaled, timed
from producers.client import OrdersClient
from sluice.local.function import LambdaContext
from sluice.local.logs import LogSink
from sluice.local.sandbox import Sandbox

LINE = {"sku": "SKU-BENCH", "quantity": 1, "unit_price_cents": 100}
CALLER = "arn:aws:iam::123456789012:role/bench"
"""Who the Invoke side claims to be: a key sent over Invoke is scoped to a named caller."""


def run(quick: bool) -> list[Row]:
    """get_order and place_order, each side ``repeat`` times (quick: 20)."""
    repeat = 20 if quick else 300
    with Sandbox(sink=LogSink(None)) as box:
        session = boto3.Session(
            region_name=box.region, aws_access_key_id="bench", aws_secret_access_key="bench"
        )
        invoke = OrdersClient.over_invoke(
            box.api_function, caller=CALLER, endpoint_url=box.invoke_url, session=session
        )
        http = OrdersClient.over_http(box.api_url, session=session)
        order_id = invoke.place_order("cust-bench", [LINE]).order_id
        for client in (invoke, http):  # warm both connections and code paths
            client.get_order(order_id)
        get = {"op": "get_order", "params": {"order_id": order_id}}
        floors = {
            "get_order": _function_alone(box, lambda: get, repeat),
            "place_order": _function_alone(box, _place_payload, max(10, repeat // 3)),
        }
        got_invoke, got_http = interleaved(
            lambda: invoke.get_order(order_id), lambda: http.get_order(order_id), repeat
        )
        placed_invoke, placed_http = interleaved(
            _placing(invoke), _placing(http), max(10, repeat // 3)
        )
    floor_ms = {op: median_spread(scaled(samples, 1000.0)) for op, samples in floors.items()}
    rows = [
        _row("get_order", got_invoke, got_http, floor_ms["get_order"][0]),
        _row("place_order", placed_invoke, placed_http, floor_ms["place_order"][0]),
    ]
    for op, (median, spread) in floor_ms.items():
        rows.append(
            Row(
                f"API function alone, {op}",
                "ms",
                median,
                "-",
                None,
                "",
                None,
                spread=spread,
                runs=len(floors[op]),
                note="the floor: a payload to the handler in-process, no transport",
            )
        )
    return rows


def _row(op: str, invoke: list[float], http: list[float], floor_ms: float) -> Row:
    ms_invoke, ms_http = scaled(invoke, 1000.0), scaled(http, 1000.0)
    added = (statistics.median(ms_invoke) - floor_ms, statistics.median(ms_http) - floor_ms)
    return compare(
        f"direct invoke latency, {op}",
        "ms",
        ms_invoke,
        "SigV4 HTTP through the local front",
        ms_http,
        max_ratio=None,
        note=f"added over the function alone: invoke {added[0]:.2f} ms, HTTP {added[1]:.2f} ms",
    )


def _placing(client: OrdersClient) -> Callable[[], object]:
    def place() -> object:
        return client.place_order("cust-bench", [LINE], idempotency_key=uuid.uuid4().hex)

    return place


def _place_payload() -> dict[str, object]:
    body = {"customer_id": "cust-bench", "items": [LINE]}
    return {
        "op": "place_order",
        "body": body,
        "idempotency_key": uuid.uuid4().hex,
        "caller": CALLER,
    }


def _function_alone(
    box: Sandbox, payload: Callable[[], dict[str, object]], repeat: int
) -> list[float]:
    """One environment's handler called with a payload directly: no HTTP, no Lambda API."""
    assert box.api is not None
    handler = box.api.environments.get()
    context = LambdaContext(box.api_function, 256, f"arn:aws:lambda:::{box.api_function}", 29)
    try:
        return timed(lambda: handler(payload(), context), repeat)
    finally:
        box.api.environments.put(handler)
