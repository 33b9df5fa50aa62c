"""``correlation_of`` names a record in a log line whatever its body holds, and never raises."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluice.runtime.sqs_event import correlation_of
from tests.factories import placed, sns_wrapped

DEEP = "[" * 100_000
HUGE_INT = "9" * 5000


def _record(body: str, **attributes: str) -> Any:
    return {
        "body": body,
        "messageAttributes": {k: {"stringValue": v} for k, v in attributes.items()},
    }


def _note(message: object) -> str:
    note = json.loads(sns_wrapped(placed()))
    note["Message"] = message
    return json.dumps(note)


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        HUGE_INT,
        _note(DEEP),
        _note('{"correlation_id": ' + HUGE_INT + "}"),
        _note(5),
        "[1, 2]",
        '{"id": "e-1"}',
        '{"Type": "Notification"}',
        _note("[1]"),
        _note('{"correlation_id": ""}'),
    ],
    ids=[
        "deep nesting",
        "5000-digit int",
        "sns: deep",
        "sns: 5000 digits",
        "sns: no text",
        "a list",
        "no correlation id",
        "sns: no message",
        "sns: a list",
        "sns: empty correlation id",
    ],
)
def test_a_body_no_parser_reads_or_naming_none_has_no_correlation_id(body: str) -> None:
    # GIVEN a record whose body makes json raise RecursionError, ValueError or TypeError
    # WHEN it is named for a log line THEN it has no correlation id, and nothing raised
    assert correlation_of(_record(body)) == "-"


def test_the_attribute_then_the_envelope_names_the_record() -> None:
    event = placed()
    assert correlation_of(_record(DEEP, correlation_id="from-attr")) == "from-attr"
    assert correlation_of(_record(event.to_json())) == event.correlation_id
    assert correlation_of(_record(sns_wrapped(event))) == event.correlation_id
