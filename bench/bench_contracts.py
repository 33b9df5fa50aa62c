"""Contracts: decoding + validating one order.placed envelope, three ways, side by side.

Sluice's ``CATALOG.decode`` (msgspec since this benchmark chose it) against the hand-written
validator it replaced (bench/peers/handwritten.py) and against pydantic v2, the library
Powertools' parser uses (bench/peers/pydantic_orders.py): the cost of a valid envelope of 3
lines, of an invalid one, the import time, and how many problems each one names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pydantic

from bench.coldstart import Probe, interleaved_probes
from bench.harness import Row, compare, interleaved, scaled
from bench.peers import handwritten
from bench.peers.pydantic_orders import PlacedEnvelope
from events import CATALOG, ORDER_PLACED, OrderPlaced
from sluice.core import Envelope
from sluice.core.envelope import Wire

HANDWRITTEN = "hand-written validator (before)"
PYDANTIC = "pydantic v2 model_validate_json"
CALLS = 5
"""Decodes per timed sample: well above the clock's resolution, short enough that few
samples are cut by the scheduler on a busy machine (the median drops those)."""
LINES = [
    {"sku": "SKU-RED-MUG", "quantity": 2, "unit_price_cents": 1250},
    {"sku": "SKU-BLUE-CAP", "quantity": 1, "unit_price_cents": 1999},
    {"sku": "SKU-GREEN-PEN", "quantity": 5, "unit_price_cents": 150},
]
FAULTS = {
    "customer_id": "",
    "items": [{"sku": "SKU-1", "quantity": -2, "unit_price_cents": "free"}],
    "coupon": "X",
}
"""Four problems: an empty id, a negative quantity, a price as text, an unknown field."""
ONE_PASS = msgspec.json.Decoder(Wire[OrderPlaced])
"""msgspec alone: the whole envelope in one Decoder, no catalog lookup, first problem only."""


def body(**data: Any) -> bytes:
    """An order.placed envelope of 3 lines as it arrives, ``data`` fields overridden."""
    payload = {"order_id": "ord-1", "customer_id": "cust-42", "items": LINES, **data}
    return Envelope.new(ORDER_PLACED, payload, source="bench").to_json().encode()


def run(quick: bool) -> list[Row]:
    """The decode costs, the import times and the error counts."""
    repeat = 5 if quick else 301
    good, bad = body(), body(**FAULTS)
    sluice = _per_decode(lambda: CATALOG.decode(good))
    rows = [
        _decode_row("valid", sluice, HANDWRITTEN, lambda: handwritten.decode(good), repeat, 0.2),
        _decode_row(
            "valid",
            sluice,
            PYDANTIC,
            lambda: PlacedEnvelope.model_validate_json(good),
            repeat,
            1.0,
        ),
        _decode_row(
            "valid",
            sluice,
            "msgspec alone: one Decoder for the whole envelope, no catalog",
            lambda: ONE_PASS.decode(good),
            repeat,
            None,
        ),
        _decode_row(
            "invalid (4 problems)",
            _per_decode(lambda: _refused(lambda: CATALOG.decode(bad))),
            HANDWRITTEN,
            lambda: _refused(lambda: handwritten.decode(bad)),
            repeat,
            None,
        ),
    ]
    return rows + _imports(repeat=3 if quick else 9) + _error_quality(bad)


def _per_decode(fn: Callable[[], object]) -> Callable[[], None]:
    def batch() -> None:
        for _ in range(CALLS):
            fn()

    return batch


def _refused(fn: Callable[[], object]) -> None:
    try:
        fn()
    except ValueError:  # ContractError, or the hand-written validator's own errors
        return
    raise AssertionError("an invalid envelope was accepted")


def _decode_row(
    case: str,
    sluice: Callable[[], None],
    peer_name: str,
    peer: Callable[[], object],
    repeat: int,
    max_ratio: float | None,
) -> Row:
    ours, theirs = interleaved(sluice, _per_decode(peer), repeat)
    return compare(
        f"Decode + validate one order.placed envelope, 3 lines, {case}",
        "us/envelope",
        scaled(ours, 1e6 / CALLS),
        peer_name,
        scaled(theirs, 1e6 / CALLS),
        max_ratio=max_ratio,
        note=f"Sluice: CATALOG.decode(bytes) (msgspec); medians of {CALLS} decodes a sample",
    )


def _imports(repeat: int) -> list[Row]:
    sluice = Probe("import events")
    peers = {
        HANDWRITTEN: Probe("import bench.peers.handwritten"),
        "pydantic v2 models": Probe("import bench.peers.pydantic_orders"),
    }
    samples = interleaved_probes([sluice, *peers.values()], repeat)
    ours = [taken for taken, _ in samples[0]]
    return [
        compare(
            "Import: the contracts module",
            "ms",
            scaled(ours, 1e3),
            name,
            scaled([taken for taken, _ in theirs], 1e3),
            max_ratio=None,
            note="fresh process each run; Sluice imports events (sluice.core + msgspec)",
        )
        for name, theirs in zip(peers, samples[1:], strict=True)
    ]


def _error_quality(bad: bytes) -> list[Row]:
    named = {
        HANDWRITTEN: _problems(lambda: handwritten.decode(bad)),
        PYDANTIC: _problems(lambda: PlacedEnvelope.model_validate_json(bad)),
        "msgspec alone": _problems(lambda: ONE_PASS.decode(bad)),
    }
    ours = _problems(lambda: CATALOG.decode(bad))
    return [
        Row(
            name="Problems named for an envelope with 4",
            unit="problems",
            sluice=ours,
            peer_name=name,
            peer=count,
            target=">= 4 (every path)",
            met=ours >= 4,
            note="msgspec stops at the first; Sluice then walks the document to name them all",
        )
        for name, count in named.items()
    ]


def _problems(fn: Callable[[], object]) -> float:
    """How many problems an error names (each library's own count)."""
    try:
        fn()
    except pydantic.ValidationError as exc:
        return float(exc.error_count())
    except ValueError as exc:  # a PayloadError lists its problems; msgspec names one
        return float(len(getattr(exc, "problems", [exc])))
    return 0.0
