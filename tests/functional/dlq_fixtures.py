"""What the DLQ tool tests share: dead letters made by the engine's own code, and a CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from sluice.commands.dlq import register
from sluice.core import Envelope
from sluice.runtime.queues import DeadLetter, QueueOps
from sluice.runtime.records import Inbound
from sluice.target import Target
from tests.conftest import Pipeline
from tests.factories import queue_arn, sqs_record


@dataclass
class Ops:
    """A provisioned pipeline, a Target on it, and helpers to fill and read its queues."""

    pipeline: Pipeline
    target: Target
    state: Path

    @property
    def audit_file(self) -> Path:
        """The default audit log (SLUICE_STATE_DIR points at a temp dir)."""
        return self.state / "replay-audit.jsonl"

    def audit(self) -> list[dict[str, Any]]:
        """The audit lines written so far."""
        if not self.audit_file.exists():
            return []
        return [json.loads(line) for line in self.audit_file.read_text().splitlines()]

    def dead_letter(
        self,
        worker: str,
        bodies: Iterable[str | Envelope[Any]],
        *,
        reason: str = "invalid_payload",
        group_id: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """Dead-letter bodies exactly as the engine does (QueueOps, failure attributes)."""
        spec = self.pipeline.registry.get(worker).spec
        queue = self.pipeline.topology.queues(spec).queue
        letters = []
        for body in bodies:
            record = sqs_record(body, queue=queue, receive_count=3, group_id=group_id)
            text = body.to_json() if isinstance(body, Envelope) else body
            record["messageAttributes"] = dict(attributes or _type_attribute(text))
            inbound = Inbound(
                item_id=record["messageId"],
                raw=record,
                source_arn=queue_arn(queue),
                receive_count=3,
                group_id=group_id,
            )
            letters.append(DeadLetter(inbound, reason, f"{reason} detail"))
        assert QueueOps(self.pipeline.clients.sqs, worker).dead_letter(letters) == []

    def send_raw(self, queue: str, body: str, **extra: Any) -> None:
        """Put a message on a queue directly (e.g. a body that is not an envelope)."""
        self.pipeline.clients.sqs.send_message(
            QueueUrl=self.pipeline.url(queue), MessageBody=body, **extra
        )

    def count(self, queue: str) -> int:
        """Every message on a queue, visible or in flight."""
        attrs = self.pipeline.clients.sqs.get_queue_attributes(
            QueueUrl=self.pipeline.url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )

    def visible(self, queue: str) -> int:
        """Messages a consumer could receive right now."""
        attrs = self.pipeline.clients.sqs.get_queue_attributes(
            QueueUrl=self.pipeline.url(queue), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def envelope_ids(self, queue: str) -> list[str]:
        """Drain a queue and list the envelope ids of its bodies."""
        return [json.loads(m["Body"])["id"] for m in self.pipeline.drain(queue)]


def counts(**given: int) -> dict[str, int]:
    """A replay report's counts: ``given`` ones, every other one 0."""
    return {"moved": 0, "skipped_by_filter": 0, "skipped": 0, "failed": 0, "refused": 0} | given


def _type_attribute(text: str) -> dict[str, Any]:
    try:
        event_type = json.loads(text)["type"]
    except (ValueError, KeyError, TypeError):
        return {}
    return {"event_type": {"dataType": "String", "stringValue": event_type}}


@pytest.fixture(name="ops")
def ops_fixture(pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ops:
    """The pipeline in moto, a local Target on it, and a temp state dir for the audit log."""
    monkeypatch.setenv("SLUICE_STATE_DIR", str(tmp_path / "state"))
    target = Target(pipeline.clients, pipeline.topology, local=True)
    return Ops(pipeline, target, tmp_path / "state")


def cli(*args: str, input: str | None = None) -> Result:
    """Run ``sluice dlq ...`` in process (against moto through the default credentials)."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def root() -> None:
        """The root command."""

    return CliRunner().invoke(app, ["dlq", *args], input=input)


def cli_json(*args: str) -> Any:
    """Run with --json and parse stdout; fails the test with the output if it is not JSON."""
    result = cli(*args, "--json")
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"exit {result.exit_code}: {result.output}") from None
