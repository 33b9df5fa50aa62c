"""The sandbox's SQS poller hands every body to the engine; what fails before it fails alone.

GIVEN a good record beside a body ``json`` gives up on (or one the poller's own log line
raises on), WHEN the poller runs, THEN the good one applies, the odd one is on the DLQ with
its reason, the source queue is empty and the poller never logged an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sluice.demo import wait_until
from sluice.local.logs import LogSink
from sluice.local.sqs_poller import SqsPoller
from sluice.runtime.queues import DETAIL, REASON, SOURCE_QUEUE, WORKER
from tests.conftest import Pipeline
from tests.factories import REGION, payment, placed, sns_wrapped

QUEUE, DLQ = "sluice-inventory", "sluice-inventory-dlq"
LEDGER = "sluice-ledger.fifo"
DEEP = "[" * 100_000
HUGE_INT = "9" * 5000


def attributes(letter: dict[str, Any]) -> dict[str, str]:
    """A dead letter's message attributes, by name."""
    return {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}


def _sns(message: str) -> str:
    note = json.loads(sns_wrapped(placed()))
    note["Message"] = message
    return json.dumps(note)


class Polled:
    """A poller on one of the pipeline's queues, and the lines it logged."""

    def __init__(
        self, pipeline: Pipeline, console: Console | None = None, queue: str = QUEUE
    ) -> None:
        self.pipeline = pipeline
        self.url = pipeline.url(queue)
        self.lines: list[dict[str, Any]] = []
        sink = LogSink(None, console)
        sink.listeners.append(self.lines.append)
        worker = "ledger" if queue == LEDGER else "inventory"
        self.poller = SqsPoller(
            pipeline.worker(worker),
            pipeline.clients.sqs,
            self.url,
            sink=sink,
            region=REGION,
            prefix="sluice",
        )

    def send(self, *bodies: str, groups: tuple[str, ...] = ()) -> None:
        """Put ``bodies`` on the queue in one call (the next receive takes them together),
        each in its FIFO group if ``groups`` names them."""
        entries: list[dict[str, str]] = [
            {"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)
        ]
        for entry, group in zip(entries, groups, strict=False):
            entry.update(MessageGroupId=group, MessageDeduplicationId=entry["Id"])
        self.pipeline.clients.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)

    def run_until(self, done: Callable[[], bool]) -> None:
        """Poll until ``done()`` holds (20 s at most), then stop."""
        self.poller.start()
        try:
            wait_until(done, 20)
        finally:
            self.poller.stop()

    def run_until_dead_lettered(self) -> list[dict[str, Any]]:
        """Poll until a message reaches the DLQ (20 s at most), then stop; what the DLQ held."""
        letters: list[dict[str, Any]] = []

        def arrived() -> bool:
            letters.extend(self.pipeline.drain(DLQ))
            return bool(letters)

        self.run_until(arrived)
        return letters

    def depth(self) -> int:
        """Messages left on the source queue, visible or in flight."""
        attrs = self.pipeline.clients.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())


@pytest.fixture
def strict_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """The poller names records with a helper that raises on a body json cannot read."""

    def strict(record: Any) -> str:
        return str(json.loads(record["body"])["correlation_id"])

    monkeypatch.setattr("sluice.local.sqs_poller.correlation_of", strict)


@pytest.fixture
def polled(pipeline: Pipeline) -> Polled:
    """A poller, not yet started, on the inventory queue."""
    return Polled(pipeline)


@pytest.mark.parametrize(
    ("bad", "reason", "cause"),
    [
        (DEEP, "malformed_json", "maximum recursion depth exceeded"),
        (HUGE_INT, "malformed_json", "Exceeds the limit (4300 digits)"),
        (_sns(DEEP), "malformed_json", "maximum recursion depth exceeded"),
        (_sns(HUGE_INT), "malformed_json", "Exceeds the limit (4300 digits)"),
    ],
    ids=["100 000 '['", "5000-digit int", "sns: 100 000 '['", "sns: 5000-digit int"],
)
def test_a_body_no_parser_reads_is_dead_lettered_and_its_neighbour_applies(
    polled: Polled, bad: str, reason: str, cause: str
) -> None:
    # GIVEN a good order and a body json gives up on, in one batch
    polled.send(placed("o-1", sku="SKU-N").to_json(), bad)
    # WHEN the sandbox's poller runs until the odd body reaches the DLQ
    letters = polled.run_until_dead_lettered()
    # THEN it is there, as it came, with the engine's reason and the parser's cause
    assert len(letters) == 1, "the odd body never reached the DLQ"
    [letter] = letters
    attrs = attributes(letter)
    assert letter["Body"] == bad
    assert (attrs[REASON], attrs[WORKER]) == (reason, "inventory")
    assert cause in attrs[DETAIL]
    # AND its neighbour applied, nothing is left on the queue, and the poller never failed
    assert polled.pipeline.stock("SKU-N")["reserved"] == 1
    assert polled.depth() == 0
    assert [line for line in polled.lines if line["message"] == "poller error"] == []


def test_a_record_the_poller_cannot_log_is_dead_lettered_with_the_reason(
    polled: Polled, strict_log: None
) -> None:
    # GIVEN a body helper that raises on one record before the engine sees the batch
    good = placed("o-2", sku="SKU-M")
    polled.send(good.to_json(), DEEP)
    # WHEN the poller runs
    letters = polled.run_until_dead_lettered()
    # THEN that record alone is on the DLQ, saying why, and the good one applied
    assert len(letters) == 1, "the record never reached the DLQ"
    [letter] = letters
    attrs = attributes(letter)
    assert letter["Body"] == DEEP
    assert (attrs[REASON], attrs[WORKER]) == ("undeliverable", "inventory")
    assert attrs[SOURCE_QUEUE] == polled.pipeline.queue_arn(QUEUE)
    assert attrs[DETAIL].startswith(
        "the poller could not hand it to the function: RecursionError: maximum recursion depth"
    )
    assert polled.pipeline.stock("SKU-M")["reserved"] == 1
    assert polled.depth() == 0
    [refused] = [line for line in polled.lines if line["message"] == "record undeliverable"]
    assert (refused["level"], refused["reason"]) == ("ERROR", "undeliverable")


def test_a_correlation_id_no_terminal_prints_runs_like_any_other(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # GIVEN a poller whose log is printed on a UTF-8 terminal, and an order whose body
    # escapes a lone surrogate in its correlation id (valid JSON, and valid on SQS)
    doc = json.loads(placed("o-3", sku="SKU-S").to_json())
    doc["correlation_id"] = "\ud800"
    with (tmp_path / "terminal.txt").open("w", encoding="utf-8") as terminal:
        polled = Polled(pipeline, Console(file=terminal))
        polled.send(json.dumps(doc))
        # WHEN the poller runs
        polled.run_until(lambda: polled.depth() == 0)
    # THEN the order applied, as on Lambda, and nothing was dead-lettered or failed
    assert pipeline.stock("SKU-S")["reserved"] == 1
    assert pipeline.drain(DLQ) == []
    assert [line for line in polled.lines if line["level"] == "ERROR"] == []


def test_a_fifo_record_the_dlq_cannot_take_holds_back_its_group_and_no_other(
    pipeline: Pipeline, strict_log: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a FIFO batch: a record the poller cannot log, its group-mate after it, and a
    # record of another group; the DLQ is unreachable
    polled = Polled(pipeline, queue=LEDGER)
    monkeypatch.setattr(polled.poller.queues, "dead_letter", lambda letters: letters)
    mate, other = payment("acct-a", 100), payment("acct-b", 200)
    polled.send(DEEP, mate.to_json(), other.to_json(), groups=("acct-a", "acct-a", "acct-b"))
    # WHEN the poller runs until an invocation ends
    polled.run_until(lambda: any(x["message"] == "invocation end" for x in polled.lines))
    # THEN the other group ran alone, the held group is still on its queue, and the log
    # says the refused record was not dead-lettered
    [end] = [x for x in polled.lines if x["message"] == "invocation end"]
    assert (end["records"], end["settled"]) == (1, [other.correlation_id])
    assert polled.depth() == 2
    [refused] = [x for x in polled.lines if x["message"] == "record undeliverable"]
    assert (refused["reason"], refused["dead_lettered"]) == ("undeliverable", False)
