"""What the fuzzers feed the entry points: any text, JSON, envelope shape, image, line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from events import ORDER_CANCELLED, ORDER_PLACED, PAYMENT_CAPTURED
from tests.factories import placed, sns_wrapped

SQS_CHARS = st.characters(
    blacklist_categories=["Cs"],
    blacklist_characters="".join(
        chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)
    ),
)
"""The characters SQS and SNS deliver (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-)."""
sqs_text = st.text(SQS_CHARS, max_size=300)

PATHOLOGICAL = st.sampled_from(
    [
        "[" * 100_000,
        "{" * 50_000,
        '{"a":' * 5000 + "1" + "}" * 5000,
        "9" * 5000,
        '{"id": ' + "9" * 4301 + "}",
        "1e999999",
        "-0",
        "NaN",
        "Infinity",
        '"\\ud800"',
        '{"id": "\\udfff"}',
        "\ufeff{}",
        "",
        " ",
        "null",
        "[]",
        "{}",
    ]
)
"""Bodies known to trip parsers in ways other than a JSON decode error."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | sqs_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(sqs_text, inner, max_size=4),
    max_leaves=12,
)

FIELDS = ("id", "type", "version", "source", "time", "correlation_id", "causation_id", "data")
TYPES = st.sampled_from([ORDER_PLACED, ORDER_CANCELLED, PAYMENT_CAPTURED, "order.shipped", ""])


@st.composite
def envelope_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope with some fields replaced, dropped or added."""
    doc = placed().to_dict()
    doc["type"] = draw(TYPES)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            del doc[name]
        else:
            doc[name] = draw(json_values)
    if draw(st.booleans()):
        doc["data"] = draw(json_values)
    doc.update(draw(st.dictionaries(sqs_text, json_values, max_size=2)))
    return doc


bodies = st.one_of(
    sqs_text,
    PATHOLOGICAL,
    json_values.map(json.dumps),
    envelope_docs().map(lambda d: json.dumps(d, ensure_ascii=False)),
)
"""Any SQS body: text, JSON, envelope shapes, parser traps."""


def wrap_sns(message: str) -> str:
    """``message`` as SNS (raw delivery off) puts it in an SQS body."""
    note = json.loads(sns_wrapped(placed()))
    note["Message"] = message
    return json.dumps(note)


record_bodies = st.one_of(bodies, bodies.map(wrap_sns))
"""Any record body, raw or SNS-wrapped."""

# --- DynamoDB typed JSON, valid or not ---

_scalar_attr = st.one_of(
    st.builds(lambda s: {"S": s}, sqs_text),
    st.builds(lambda n: {"N": str(n)}, st.integers(-(10**40), 10**40) | st.floats()),
    st.builds(lambda t: {"N": t}, sqs_text),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": s}, st.lists(sqs_text, max_size=3)),
    st.builds(lambda s: {"B": s}, sqs_text),
    st.builds(lambda k, v: {k: v}, sqs_text, json_values),
    json_values,
)
attribute_values = st.recursive(
    _scalar_attr,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(sqs_text, inner, max_size=3)),
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    ),
    max_leaves=10,
)
images = st.dictionaries(sqs_text, attribute_values, max_size=6)
"""Any stream image: DynamoDB typed JSON, and shapes no table could hold."""

# --- Lambda Invoke payloads: any JSON a caller can send ---

JSON_TEXT = st.text(st.characters(blacklist_categories=()), max_size=60)
"""Any text a JSON document can hold: a ``\\ud800`` escape decodes to a lone surrogate."""
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value, as Lambda hands a parsed Invoke payload to the function."""
