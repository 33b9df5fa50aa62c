"""What the fuzzers feed the entry points: any text, JSON, envelope shape, image, line."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

from hypothesis import strategies as st

from events import ORDER_CANCELLED, ORDER_PLACED, PAYMENT_CAPTURED
from tests.factories import placed, sns_wrapped
from tests.functional.failure_records import change, invocation_record, notice_body

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


# --- S3 notices on a stream failure queue, and the failure objects they name ---

OWN_BUCKET = "sluice-relay-stream-failures"
"""The relay's failure bucket in the provisioned pipeline."""
OTHER_BUCKET = "fuzz-someone-elses-bucket"
ODD_KEY = "aws/lambda/fuzz/odd record+1"
"""Where the fuzzed failure object lies, in both buckets."""
bucket_names = st.sampled_from([OWN_BUCKET, OTHER_BUCKET, "fuzz-no-such-bucket", ""]) | sqs_text
object_keys = st.sampled_from([ODD_KEY, "aws/lambda/fuzz/gone"]) | sqs_text


@st.composite
def s3_entries(draw: st.DrawFn) -> Any:
    """One ``Records[]`` entry of an S3 notification, with any field replaced or dropped."""
    key = draw(object_keys)
    entry: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": draw(st.just("aws:s3") | sqs_text),
        "eventName": draw(
            st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete", "s3:TestEvent"])
            | sqs_text
        ),
        "s3": {
            "bucket": {"name": draw(bucket_names)},
            "object": {"key": draw(st.sampled_from([quote_plus(key), key])), "size": 10},
        },
    }
    for name in draw(
        st.lists(st.sampled_from(["eventName", "s3", "bucket", "object"]), max_size=2)
    ):
        inner = entry.get("s3")
        where = inner if name in ("bucket", "object") and isinstance(inner, dict) else entry
        if draw(st.booleans()):
            where.pop(name, None)
        else:
            where[name] = draw(json_values)
    return entry if draw(st.integers(0, 9)) else draw(json_values)


s3_notices = st.one_of(
    st.just(notice_body(OWN_BUCKET, ODD_KEY)),
    st.builds(notice_body, bucket_names, object_keys),
    st.lists(s3_entries(), min_size=1, max_size=3).map(lambda es: json.dumps({"Records": es})),
    bucket_names.map(
        lambda b: json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": b})
    ),
    bodies,
)
"""Any body on a stream failure queue: S3 notifications of any shape naming any bucket and
key, S3 test events, and anything else; one in five names the fuzzed failure object."""

BATCH_FIELDS = ("shardId", "startSequenceNumber", "endSequenceNumber", "batchSize", "streamArn")
OTHER_STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/sluice-state/stream/2024-01-01T00"
"""A stream the relay does not read."""


@st.composite
def failure_objects(draw: st.DrawFn) -> bytes:
    """What a failure object may hold: an invocation record with any batch info and payload,
    or any bytes at all."""
    records = [change(f"ord-fuzz-{n}", 900 + n) for n in range(2)]
    doc: dict[str, Any] = invocation_record(records)
    info = doc["DDBStreamBatchInfo"]
    for name in draw(st.lists(st.sampled_from(BATCH_FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            del info[name]
        else:
            info[name] = draw(
                json_values | st.integers(-(10**30), 10**30).map(str) | st.just(OTHER_STREAM)
            )
    payload = draw(st.sampled_from(["keep", "drop", "any", "odd records"]))
    if payload == "drop":
        del doc["payload"]
    elif payload == "any":
        doc["payload"] = draw(json_values | json_values.map(json.dumps))
    elif payload == "odd records":
        odd = draw(st.lists(st.builds(_odd_record, images, st.just("901") | sqs_text), max_size=3))
        doc["payload"] = json.dumps({"Records": records[:1] + odd})
    text = json.dumps(doc) if draw(st.integers(0, 4)) else draw(bodies)
    return text.encode(errors="surrogatepass")


def _odd_record(image: dict[str, Any], sequence: str) -> dict[str, Any]:
    """A stream record with any image, and any sequence number."""
    record: dict[str, Any] = change("ord-fuzz-odd", 901)
    record["dynamodb"]["NewImage"] = image
    record["dynamodb"]["SequenceNumber"] = sequence
    return record
