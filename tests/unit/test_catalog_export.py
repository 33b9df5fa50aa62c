"""`sluice catalog --json-schema`: the exported schemas, checked by an independent validator.

``jsonschema`` (not msgspec, which wrote them) decides: every sample event's envelope must
satisfy its type's schema, and every bad input that breaks the contract must satisfy none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from events import CATALOG
from sluice.cli import build
from sluice.core import Envelope
from sluice.core.export import catalog_schemas
from sluice.runtime.records import stream_change, unwrap_sns
from tests.badinput.cases import CASES, Api, Queue, Relay
from tests.factories import sample
from workers.relay import order_event

SCHEMAS = catalog_schemas(CATALOG)
VALIDATORS = {
    (event_type, int(version)): Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    for event_type, versions in SCHEMAS.items()
    for version, schema in versions.items()
}
SCHEMA_LEVEL = ("invalid_envelope", "invalid_payload", "unknown_event_type", "unsupported_version")
"""The queue errors a schema can see; the rest (not JSON, not subscribed) it cannot."""


def accepted(doc: object) -> list[tuple[str, int]]:
    """The (type, version) schemas ``doc`` satisfies."""
    return [key for key, validator in VALIDATORS.items() if validator.is_valid(doc)]


def _envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return Envelope.new(event_type, data, source="tests").to_dict()


def _stream_envelope(item: dict[str, Any], event_name: str = "INSERT") -> dict[str, Any] | None:
    """What the orders relay publishes for a stream record of this item, or None."""
    record = {
        "eventName": event_name,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/x",
        "dynamodb": {"Keys": {"id": item["id"]}, "NewImage": item, "SequenceNumber": "1"},
    }
    found = order_event(stream_change(record))
    return None if found is None else _envelope(*found)


def sample_envelopes() -> list[tuple[str, dict[str, Any]]]:
    """(sample, envelope) for every envelope the samples in events/samples carry or become."""
    found = []
    for name in ("sqs_raw", "sqs_sns_wrapped", "sqs_fifo"):
        for record in sample(name)["Records"]:
            found.append((name, json.loads(unwrap_sns(record["body"]))))
    for name in ("apigw_rest_v1", "apigw_http_v2"):
        order = {**json.loads(sample(name)["body"]), "order_id": "ord-from-api"}
        found.append((name, _envelope("order.placed", order)))
    for name in ("dynamodb_insert", "dynamodb_modify"):
        for record in sample(name)["Records"]:
            published = order_event(stream_change(record))
            assert published is not None, f"{name} no longer becomes an event"
            found.append((name, _envelope(*published)))
    return found


@pytest.mark.parametrize(
    ("name", "doc"), sample_envelopes(), ids=lambda v: v if isinstance(v, str) else "doc"
)
def test_every_sample_satisfies_its_own_types_schema(name: str, doc: dict[str, Any]) -> None:
    assert accepted(doc) == [(doc["type"], doc["version"])], name
    CATALOG.decode(doc)  # and the catalog agrees


def bad_documents() -> list[Any]:
    """Every schema-level bad input of tests/badinput/cases.py, as the document to check."""
    found = []
    for case in CASES:
        if isinstance(case.entry, Queue) and case.error.startswith(SCHEMA_LEVEL):
            found.append(pytest.param(json.loads(unwrap_sns(case.given)), id=case.id))
        elif isinstance(case.entry, Api) and case.given[1] == "/orders":
            body = json.loads(case.given[2])
            order = {**body, "order_id": "ord-x"} if isinstance(body, dict) else body
            found.append(pytest.param(_envelope("order.placed", order), id=f"api {case.id}"))
        elif isinstance(case.entry, Relay):
            found.append(pytest.param(_stream_envelope(case.given[-1]), id=f"relay {case.id}"))
    return found


@pytest.mark.parametrize("doc", bad_documents())
def test_every_schema_level_bad_input_satisfies_no_schema(doc: Any) -> None:
    assert accepted(doc) == []


def test_the_bad_inputs_cover_every_kind_of_schema_problem() -> None:
    ids = {p.id for p in bad_documents()}
    assert len(ids) >= 20, sorted(ids)
    assert {"time not a timestamp", "unknown type", "api float quantity"} <= ids


def test_cli_prints_and_writes_the_same_schemas(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(build(), ["catalog", "--json-schema"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output) == SCHEMAS

    written = runner.invoke(build(), ["catalog", "--json-schema", "-o", str(tmp_path)])
    assert written.exit_code == 0, written.output
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [
        "order.cancelled.v1.schema.json",
        "order.placed.v1.schema.json",
        "payment.captured.v1.schema.json",
        "stock.audit_requested.v1.schema.json",
    ]
    on_disk = json.loads((tmp_path / "order.placed.v1.schema.json").read_text())
    assert on_disk == SCHEMAS["order.placed"]["1"]


def test_cli_table_names_every_field_with_its_rules() -> None:
    shown = CliRunner().invoke(build(), ["catalog"])
    assert shown.exit_code == 0, shown.output
    assert "data.items[].quantity" in shown.output
    assert "integer; >= 1, <= 1000" in shown.output
    assert "max items 99" in shown.output


def test_output_without_json_schema_is_a_usage_error(tmp_path: Path) -> None:
    shown = CliRunner().invoke(build(), ["catalog", "-o", str(tmp_path)])
    assert shown.exit_code == 2
    assert "--output goes with --json-schema" in shown.output
