"""A DynamoDB stream record as Lambda delivers it: its batch entry, its change, its envelope."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sluice.core import ContractError
from sluice.runtime import Source
from sluice.runtime.records import (
    Inbound,
    decode,
    lambda_stream_record,
    parse_batch,
    stream_change,
    stream_envelope,
    stream_event_id,
    table_from_arn,
)

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/notes/stream/2026-01-01T00:00:00.000"
CREATED = 1_795_459_460.5  # 2026-11-23T18:44:20.5Z


def _record(**body: Any) -> dict[str, Any]:
    change = {"Keys": {"pk": {"S": "n-1"}}, "SequenceNumber": "700", **body}
    return {
        "eventSource": "aws:dynamodb",
        "eventName": "INSERT",
        "eventSourceARN": ARN,
        "dynamodb": change,
    }


def _inbound(record: dict[str, Any]) -> Inbound:
    [inbound] = parse_batch({"Records": [record]}, Source.STREAM, "tests")
    return inbound


def test_a_stream_entry_is_named_by_its_sequence_number_and_dated_in_ms() -> None:
    inbound = _inbound(_record(ApproximateCreationDateTime=CREATED))
    assert (inbound.item_id, inbound.source_arn, inbound.sent_at_ms) == (
        "700",
        ARN,
        1_795_459_460_500,
    )


def test_a_broken_stream_entry_is_still_listed_so_that_its_decode_fails_it_alone() -> None:
    record = {"eventSource": "aws:dynamodb", "dynamodb": "not a change"}
    inbound = _inbound(record)
    assert (inbound.item_id, inbound.source_arn, inbound.sent_at_ms) == ("", "", None)
    with pytest.raises(ContractError, match="malformed stream record"):
        decode(inbound, None)  # type: ignore[arg-type]  # a stream record needs no catalog


def test_an_entry_without_sequence_number_or_time_has_an_empty_id_and_no_age() -> None:
    record = _record()
    del record["dynamodb"]["SequenceNumber"], record["eventSourceARN"]
    assert (_inbound(record).item_id, _inbound(record).source_arn) == ("", "")
    assert _inbound(record).sent_at_ms is None


@pytest.mark.parametrize(
    "created",
    [
        0,
        -5.0,
        float("nan"),
        float("inf"),
        1e11,  # the year 5138: a time in milliseconds read as seconds
        1e11 + 0.5,
        CREATED * 1000,
        "",
        "soon",
        None,
    ],
)
def test_a_creation_time_no_record_can_have_gives_no_age(created: Any) -> None:
    assert _inbound(_record(ApproximateCreationDateTime=created)).sent_at_ms is None


@pytest.mark.parametrize(
    ("created", "ms"),
    [
        (CREATED, 1_795_459_460_500),
        (str(CREATED), 1_795_459_460_500),
        (0.5, 500),
        (datetime.fromtimestamp(CREATED, UTC), 1_795_459_460_500),
    ],
)
def test_a_creation_time_in_seconds_text_or_datetime_is_read_in_ms(created: Any, ms: int) -> None:
    assert _inbound(_record(ApproximateCreationDateTime=created)).sent_at_ms == ms


def test_a_change_is_dated_by_its_record_or_else_by_now() -> None:
    dated = stream_change(_record(ApproximateCreationDateTime=CREATED))
    assert dated.created_at == datetime(2026, 11, 23, 18, 44, 20, 500_000, tzinfo=UTC)
    undated = stream_change(_record())
    assert undated.created_at.tzinfo is UTC
    assert abs(undated.created_at - datetime.now(UTC)) < timedelta(seconds=5)


def test_images_become_plain_values_of_every_dynamodb_type() -> None:
    image = {
        "s": {"S": "text"},
        "whole": {"N": "42"},
        "half": {"N": "1.5"},
        "yes": {"BOOL": True},
        "nothing": {"NULL": True},
        "map": {"M": {"inner": {"N": "-7"}}},
        "list": {"L": [{"S": "a"}, {"N": "2"}]},
        "strings": {"SS": ["b", "a"]},
        "binaries": {"BS": ["Yg==", "YQ=="]},
        "numbers": {"NS": ["10", "9.5", "-1"]},
        "blob": {"B": "AAE="},
    }
    change = stream_change(_record(NewImage=image, OldImage={"s": {"S": "old"}}))
    assert change.new_image == {
        "s": "text",
        "whole": 42,
        "half": 1.5,
        "yes": True,
        "nothing": None,
        "map": {"inner": -7},
        "list": ["a", 2],
        "strings": ["a", "b"],
        "binaries": ["YQ==", "Yg=="],
        "numbers": [-1, 9.5, 10],
        "blob": "AAE=",
    }
    assert change.old_image == {"s": "old"}
    assert (change.table, change.event_name, change.keys, change.sequence_number) == (
        "notes",
        "INSERT",
        {"pk": "n-1"},
        "700",
    )


def test_an_unknown_attribute_type_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown DynamoDB attribute type 'X'$"):
        stream_change(_record(NewImage={"odd": {"X": "?"}}))


@pytest.mark.parametrize(
    ("text", "value"), [("1E+125", 10**125), ("-9.99E+125", -999 * 10**123), ("1E-130", 1e-130)]
)
def test_numbers_at_dynamodbs_limits_are_read(text: str, value: float) -> None:
    change = stream_change(_record(NewImage={"n": {"N": text}}))
    assert change.new_image == {"n": value}


@pytest.mark.parametrize("text", ["1E+126", "1E-131", "NaN", "Infinity", "-Infinity"])
def test_numbers_beyond_dynamodbs_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"'{text}' is not a DynamoDB number")):
        stream_change(_record(NewImage={"n": {"N": text}}))


def test_a_refused_number_is_quoted_by_its_first_40_characters() -> None:
    text = "1" * 60 + "E+200"
    with pytest.raises(ValueError) as refused:
        stream_change(_record(NewImage={"n": {"N": text}}))
    assert str(refused.value) == (
        f"'{'1' * 40}' is not a DynamoDB number (38 digits, 1E-130..1E+125)"
    )


@pytest.mark.parametrize(("length", "kept"), [(300, 300), (301, 297)])
def test_a_malformed_stream_records_cause_is_kept_whole_up_to_300_characters(
    length: int, kept: int
) -> None:
    # "ValueError: unknown DynamoDB attribute type '<kind>'" is 46 characters and the kind
    prefix = "ValueError: unknown DynamoDB attribute type '"
    kind = "K" * (length - len(prefix) - 1)
    with pytest.raises(ContractError) as failed:
        decode(_inbound(_record(NewImage={"odd": {kind: "?"}})), None)  # type: ignore[arg-type]
    cause = failed.value.detail.removeprefix("malformed stream record: ")
    if length == kept:
        assert cause == f"{prefix}{kind}'"
    else:
        assert cause == f"{prefix}{kind}'"[:kept] + "..."
        assert len(cause) == 300


def test_the_event_id_of_a_stream_record_never_changes_between_releases() -> None:
    # A replay after an upgrade must republish the ids the last release published, or the
    # subscribers apply the same change twice: the derivation is pinned here.
    keys = {"pk": "n-1", "sk": 2}
    assert stream_event_id("notes", keys, "700") == "734feb13-5655-5f6b-b7b7-d58ca1b9244a"
    assert stream_event_id("notes", {"sk": 2, "pk": "n-1"}, "700") == stream_event_id(
        "notes", keys, "700"
    )
    assert stream_event_id("notes", {"pk": "n-2", "sk": 2}, "700") != stream_event_id(
        "notes", keys, "700"
    )


def test_a_stream_envelope_is_version_1_from_its_table_under_the_items_correlation() -> None:
    record = _record(NewImage={"pk": {"S": "n-1"}, "correlation_id": {"S": "corr-9"}})
    envelope = stream_envelope(record)
    assert (envelope.type, envelope.version, envelope.source, envelope.correlation_id) == (
        "dynamodb.insert",
        1,
        "dynamodb:notes",
        "corr-9",
    )
    assert envelope.id == stream_event_id("notes", {"pk": "n-1"}, "700")


@pytest.mark.parametrize("correlation", [None, "", 7])
def test_a_stream_envelope_without_a_text_correlation_is_correlated_by_its_own_id(
    correlation: Any,
) -> None:
    image: dict[str, Any] = {"pk": {"S": "n-1"}}
    if correlation == 7:
        image["correlation_id"] = {"N": "7"}
    elif correlation is not None:
        image["correlation_id"] = {"S": correlation}
    envelope = stream_envelope(_record(NewImage=image))
    assert envelope.correlation_id == envelope.id


@pytest.mark.parametrize(
    ("arn", "table"),
    [
        (ARN, "notes"),
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/notes", "notes"),
        (
            "arn:aws:dynamodb:eu-west-1:123456789012:table",
            "arn:aws:dynamodb:eu-west-1:123456789012:table",
        ),
        (
            "arn:aws:dynamodb:eu-west-1:123456789012:index/notes",
            "arn:aws:dynamodb:eu-west-1:123456789012:index/notes",
        ),
        ("notes", "notes"),
        ("", ""),
    ],
)
def test_the_table_is_read_from_a_stream_arn_or_the_text_is_kept(arn: str, table: str) -> None:
    assert table_from_arn(arn) == table


def test_a_change_without_a_source_arn_has_no_table() -> None:
    record = _record()
    del record["eventSourceARN"]
    assert stream_change(record).table == ""


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine whose local time is not UTC."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _get_records_record(created: datetime, **extra: Any) -> dict[str, Any]:
    body = {
        "Keys": {"pk": {"S": "n-1"}},
        "SequenceNumber": "700",
        "ApproximateCreationDateTime": created,
    }
    return {"eventID": "e-1", "eventName": "MODIFY", "dynamodb": body, **extra}


@pytest.mark.usefixtures("tokyo")
@pytest.mark.parametrize(
    "created",
    [
        datetime(2026, 11, 23, 18, 44, 20, 500_000),  # naive, as boto3 may give it: UTC
        datetime(2026, 11, 23, 18, 44, 20, 500_000, tzinfo=UTC),
        datetime(2026, 11, 23, 20, 44, 20, 500_000, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_a_get_records_record_becomes_the_record_lambda_would_deliver(created: datetime) -> None:
    got = lambda_stream_record(_get_records_record(created), ARN, "eu-west-1")
    assert got == {
        "eventID": "e-1",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "Keys": {"pk": {"S": "n-1"}},
            "SequenceNumber": "700",
            "ApproximateCreationDateTime": CREATED,
        },
        "eventSourceARN": ARN,
    }


def test_a_get_records_record_keeps_its_own_event_version() -> None:
    record = _get_records_record(datetime.now(UTC), eventVersion="1.0")
    assert lambda_stream_record(record, ARN, "eu-west-1")["eventVersion"] == "1.0"
