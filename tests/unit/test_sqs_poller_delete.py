"""The sandbox's SQS poller retries deletes SQS refused, and says so when it gives up."""

from __future__ import annotations

import json
from typing import Any

from app import APP
from sluice.local.logs import LogSink
from sluice.local.sqs_poller import DELETE_ATTEMPTS, SqsPoller

URL = "http://127.0.0.1:1/123456789012/sluice-inventory"


class FlakySqs:
    """Refuses the first delete of message "m1"; refuses "m2" every time."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        handles = [e["ReceiptHandle"] for e in Entries]
        self.calls.append(handles)
        bad = {"m1", "m2"} if len(self.calls) == 1 else {"m2"}
        refused = [e for e in Entries if e["ReceiptHandle"] in bad]
        return {"Failed": [{"Id": e["Id"], "Code": "InternalError"} for e in refused]}


class Capture(LogSink):
    """A sink that keeps its lines in memory."""

    def __init__(self) -> None:
        super().__init__(None)
        self.lines: list[dict[str, Any]] = []
        self.listeners.append(self.lines.append)


def test_refused_deletes_are_retried_then_reported(monkeypatch: Any) -> None:
    monkeypatch.setattr("sluice.local.sqs_poller.time.sleep", lambda s: None)
    sqs, sink = FlakySqs(), Capture()
    poller = SqsPoller(
        APP.registry.get("inventory"), sqs, URL, sink=sink, region="eu-west-1", prefix="sluice"
    )
    records: Any = [
        {
            "messageId": h,
            "receiptHandle": h,
            "body": "{}",
            "attributes": {},
            "messageAttributes": {},
        }
        for h in ("m0", "m1", "m2")
    ]
    poller._delete(records)
    assert sqs.calls == [["m0", "m1", "m2"], ["m1", "m2"]] + [["m2"]] * (DELETE_ATTEMPTS - 2)
    warned = [line for line in sink.lines if line.get("message_id") == "m2"]
    assert len(warned) == 1 and "delete failed" in json.dumps(warned[0])
