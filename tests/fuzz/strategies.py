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

# --- schedule expressions and time zones, valid or not ---

_CRON_TOKENS = st.sampled_from(
    [
        *"*?LW#/-, ",
        *("0", "1", "2", "5", "7", "12", "15", "23", "24", "31", "32", "59", "60"),
        *("1969", "1970", "2199", "2200", "MON", "fri", "SUN", "JAN", "dec", "FOO"),
        *("9" * 5000, "\u00b2", "\u0663", "\uff11", "\u3000", "\t"),
    ]
)
"""Pieces of cron fields: the grammar's symbols, edge values, and digits no ``int`` takes
(superscript two), or only Python's does (Arabic-Indic three, fullwidth one)."""
_cron_fields = st.lists(_CRON_TOKENS, max_size=4).map("".join)
cron_soup = st.lists(_cron_fields, min_size=4, max_size=7).map(lambda f: f"cron({' '.join(f)})")
"""Any ``cron(...)``: six fields of the grammar's pieces, or some other number of them."""
rate_soup = st.builds(
    lambda value, unit: f"rate({value} {unit})",
    st.one_of(
        st.integers(-5, 10**13).map(str),
        st.sampled_from(["9" * 5000, "\u0663", "\u00b2", "1.5", "", "0x10"]),
        sqs_text,
    ),
    st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "weeks", ""]) | sqs_text,
)
"""Any ``rate(...)``: any value, from huge to no number, with any unit."""

ODD_ZONES = st.sampled_from(
    [
        *("", ".", "..", "/", "UTC ", "utc", "Europe/", "Europe//Paris", "../etc/passwd"),
        *("America", "Europe", "Etc", "a" * 300, "/etc/localtime", "Europe/Paris\x00", "\ud800"),
        *("zone.tab", "tzdata.zi", "posixrules", "right/UTC", "posix/UTC", "Factory", "localtime"),
    ]
)
"""Time zone names that trip ``ZoneInfo`` in other ways than an unknown name (directories,
over-long names, NUL bytes, lone surrogates, the database's own data files)."""


# --- Lambda Invoke payloads: any JSON a caller can send ---

JSON_TEXT = st.text(st.characters(blacklist_categories=()), max_size=60)
"""Any text a JSON document can hold: a ``\\ud800`` escape decodes to a lone surrogate."""
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value, as Lambda hands a parsed Invoke payload to the function."""
