"""``sluice publish`` against in-process moto: input forms, destinations, exit codes."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app import APP
from events import ORDER_PLACED, OrderPlaced
from sluice.commands import publish as command
from sluice.core import Catalog, Contract
from sluice.target import Target
from tests.conftest import Pipeline
from tests.factories import order_data, payment, placed
from tests.functional.faults import EntryFaults

WHERE = "on AWS eu-west-1"


@pytest.fixture
def cli(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``sluice publish ...`` against the provisioned pipeline (its clients)."""
    target = Target(pipeline.clients, pipeline.topology, local=False)
    monkeypatch.setattr(command, "connect", lambda **_: target)
    app = typer.Typer(add_completion=False)
    app.callback()(lambda: None)
    command.register(app)

    def run(*args: str, stdin: str | None = None) -> Any:
        return CliRunner().invoke(app, ["publish", *args], input=stdin)

    return run


def test_type_and_data_publish_one_event_to_the_topic(cli: Any, pipeline: Pipeline) -> None:
    data = order_data("ord-cli")
    result = cli("--type", "order.placed", "--data", json.dumps(data), "--correlation-id", "c-1")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"published 1 of 1 envelope(s) to topic sluice-events {WHERE} in 1 call(s)"
    )
    [message] = pipeline.drain("sluice-receipts")
    sent = json.loads(message["Body"])
    assert (sent["type"], sent["data"]["order_id"], sent["correlation_id"]) == (
        "order.placed",
        "ord-cli",
        "c-1",
    )
    assert sent["data"] == {**data, "currency": "EUR"}


def test_a_jsonl_file_of_payments_goes_to_the_fifo_queue_grouped_by_account(
    cli: Any, pipeline: Pipeline, tmp_path: Path
) -> None:
    # GIVEN 25 payments, data only, for two accounts
    rows = [payment(f"acct-{n % 2}", n + 1).data for n in range(25)]
    source = tmp_path / "payments.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    # WHEN they are published to the ledger queue
    result = cli(str(source), "--type", "payment.captured", "--to", "sluice-ledger.fifo")

    # THEN grouped by the ledger worker's group_by (account_id), in 13 calls: a FIFO call
    # carries one message of a group, so none can overtake a refused one in its call
    assert result.exit_code == 0, result.output
    assert "published 25 of 25 envelope(s) to queue sluice-ledger.fifo" in result.output
    assert "in 13 call(s)" in result.output
    got = pipeline.drain("sluice-ledger.fifo")
    groups = {m["Attributes"]["MessageGroupId"] for m in got}
    assert len(got) == 25 and groups == {"acct-0", "acct-1"}


def test_envelopes_from_stdin_keep_their_ids(cli: Any, pipeline: Pipeline) -> None:
    envelopes = [placed(), placed()]
    result = cli("-", stdin=json.dumps([e.to_dict() for e in envelopes]))
    assert result.exit_code == 0, result.output
    ids = sorted(json.loads(m["Body"])["id"] for m in pipeline.drain("sluice-audit"))
    assert ids == sorted(e.id for e in envelopes)


def test_bad_input_sends_nothing_and_says_where(
    cli: Any, pipeline: Pipeline, tmp_path: Path
) -> None:
    good, bad = payment("acct-1", 5).data, {**payment("acct-1", 5).data, "amount_cents": 0}
    source = tmp_path / "payments.jsonl"
    source.write_text(f"{json.dumps(good)}\n{json.dumps(bad)}\n")

    result = cli(str(source), "--type", "payment.captured", "--to", "sluice-ledger.fifo")

    assert result.exit_code == 2
    assert "line 2: data.amount_cents: must be at least 1, got 0" in result.output
    assert pipeline.drain("sluice-ledger.fifo") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "nope"], "queue 'nope' does not exist in AWS eu-west-1"),
        ([], "nothing to publish: give a FILE, `-` for stdin, or --type and --data"),
        (["--type", "order.shipped", "--data", "{}"], "unknown event type 'order.shipped'"),
        (["--type", "order.placed", "--data", "{"], "--data: not JSON"),
    ],
)
def test_configuration_and_usage_errors_exit_2(cli: Any, args: list[str], message: str) -> None:
    if args[:2] == ["--to", "nope"]:
        args = [*args, "--type", "payment.captured", "--data", json.dumps(payment("a", 1).data)]
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_envelopes_that_fail_after_retries_are_listed_and_exit_1(
    cli: Any, pipeline: Pipeline
) -> None:
    doomed = placed()
    EntryFaults(pipeline.clients.sns, "PublishBatch", fails=lambda b: doomed.id in b)
    result = cli("-", stdin="\n".join(e.to_json() for e in (placed(), doomed)))
    assert result.exit_code == 1
    assert "published 1 of 2 envelope(s)" in result.output
    assert f"failed {doomed.id}: InternalError injected (after 4 tries)" in result.output


class OrderPlacedV2(OrderPlaced):
    """order.placed v2, for these tests: v1 and a gift flag."""

    gift: bool = False


@pytest.fixture
def two_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's catalog with order.placed v2 beside v1."""
    catalog = Catalog([*APP.catalog, Contract(ORDER_PLACED, 2, OrderPlacedV2)])
    monkeypatch.setattr(command, "load_app", lambda: replace(APP, catalog=catalog))


def _sent(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in pipeline.drain("sluice-receipts")]


@pytest.mark.usefixtures("two_versions")
def test_publish_builds_the_newest_version_unless_told_which(cli: Any, pipeline: Pipeline) -> None:
    data = json.dumps(order_data("ord-v"))
    # WHEN one envelope is built without --version, and one with --version 1
    assert cli("--type", ORDER_PLACED, "--data", data).exit_code == 0
    assert cli("--type", ORDER_PLACED, "--data", data, "--version", "1").exit_code == 0
    # THEN the first is v2 (the newest the catalog knows), the second v1
    assert sorted(body["version"] for body in _sent(pipeline)) == [1, 2]


@pytest.mark.usefixtures("two_versions")
def test_an_unknown_version_is_refused_naming_the_known_ones(cli: Any, pipeline: Pipeline) -> None:
    result = cli("--type", ORDER_PLACED, "--data", json.dumps(order_data()), "--version", "3")
    assert result.exit_code == 2
    assert "--version 3: the catalog knows order.placed v1, v2" in result.output
    assert "Traceback" not in result.output
    assert _sent(pipeline) == []


def test_an_envelope_of_type_and_data_alone_is_completed(cli: Any, pipeline: Pipeline) -> None:
    # GIVEN a file holding only the type and the data of an envelope
    doc = {"type": ORDER_PLACED, "data": order_data("ord-min")}
    result = cli("-", stdin=json.dumps(doc))
    # THEN it is published with a new id, the time, its own correlation id, no causation
    assert result.exit_code == 0, result.output
    [sent] = _sent(pipeline)
    assert str(uuid.UUID(sent["id"])) == sent["id"] == sent["correlation_id"]
    assert (sent["causation_id"], sent["version"], sent["source"]) == (None, 1, "sluice.cli")
    age = datetime.now(UTC) - datetime.fromisoformat(sent["time"].replace("Z", "+00:00"))
    assert timedelta(0) <= age < timedelta(minutes=1)


def test_fields_an_envelope_gives_are_kept_and_the_rest_filled(
    cli: Any, pipeline: Pipeline
) -> None:
    doc = {"id": "e-1", "type": ORDER_PLACED, "data": order_data("ord-own")}
    result = cli("-", "--correlation-id", "c-9", stdin=json.dumps(doc))
    assert result.exit_code == 0, result.output
    [sent] = _sent(pipeline)
    assert (sent["id"], sent["correlation_id"], sent["causation_id"]) == ("e-1", "c-9", None)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"data": {}}, 'input: an envelope needs at least "type" and "data" (or use --type)'),
        ({"type": ORDER_PLACED}, 'input: an envelope needs at least "type" and "data"'),
        ({"type": ORDER_PLACED, "data": {}, "version": 7}, "order.placed v7 is not supported"),
    ],
)
def test_an_envelope_without_type_or_data_says_what_it_needs(
    cli: Any, pipeline: Pipeline, doc: dict[str, Any], message: str
) -> None:
    result = cli("-", stdin=json.dumps(doc))
    assert result.exit_code == 2
    assert message in result.output
    assert _sent(pipeline) == []
