"""Crash safety: SIGKILL a replay of 200 messages (20 batches) anywhere, and nothing is lost.

Each round starts ``sluice dlq replay --local`` in a subprocess against the sandbox's moto
server (a child process, as ``sluice up`` runs it), kills it at a point spread over the
move, then checks that every message is in the source DLQ or in the destination (or both:
sent, not yet deleted) and that a second replay completes. Rounds alternate direction
between two DLQs, so the 200 messages are seeded once (moto's SendMessage slows with
depth). In-process ``mock_aws`` is never started here: it would wipe a threaded server.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from app import APP
from events import ORDER_PLACED
from sluice.core import Envelope
from sluice.local.provision import provision
from sluice.local.server import MotoServer
from sluice.runtime import Clients
from sluice.runtime.queues import REASON
from sluice.target import SandboxState
from sluice.topology import Topology
from tests.factories import REGION, order_data

MESSAGES = 200
ROUNDS = 10
HOLD_S = 1
# `sluice ...` as at an operator's terminal, where Ctrl-C is a KeyboardInterrupt: a suite
# started in the background (`cmd &`) runs with SIGINT ignored, which every child inherits,
# and the replay rightly keeps a Ctrl-C it was told to ignore.
AT_A_TERMINAL = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('sluice.cli', run_name='__main__', alter_sys=True)"
)
QUEUES = ("sluice-audit-dlq", "sluice-receipts-dlq")

pytestmark = [pytest.mark.timeout(480), pytest.mark.slow]


@dataclass
class Sandbox:
    """A moto server with the pipeline provisioned, and the state file a replay attaches to."""

    clients: Clients
    state_dir: Path
    urls: dict[str, str]

    def seed(self, queue: str, count: int) -> set[str]:
        """Put ``count`` dead-lettered envelopes on ``queue``; returns their ids."""
        ids = set()
        for start in range(0, count, 10):
            entries = []
            for n in range(start, min(count, start + 10)):
                event = Envelope.new(ORDER_PLACED, order_data(f"o-{n}"), source="crash-test")
                ids.add(event.id)
                entries.append(
                    {
                        "Id": str(n - start),
                        "MessageBody": event.to_json(),
                        "MessageAttributes": {
                            "event_type": {"DataType": "String", "StringValue": event.type},
                            REASON: {"DataType": "String", "StringValue": "unhandled"},
                        },
                    }
                )
            self.clients.sqs.send_message_batch(QueueUrl=self.urls[queue], Entries=entries)
        return ids

    def ids(self, queue: str, *, dedupe: bool = False) -> list[str]:
        """Envelope ids on ``queue`` (all left there, visible); ``dedupe`` deletes extra copies."""
        sqs, url = self.clients.sqs, self.urls[queue]
        held: list[dict[str, Any]] = []
        while got := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
        ).get("Messages", []):
            held += got
        ids = [json.loads(m["Body"])["id"] for m in held]
        first = {i: m["MessageId"] for m, i in reversed(list(zip(held, ids, strict=True)))}
        extra = [m for m, i in zip(held, ids, strict=True) if first[i] != m["MessageId"]]
        if dedupe:
            self._batch(url, "delete_message_batch", extra, {})
            held = [m for m in held if m not in extra]
        self._batch(url, "change_message_visibility_batch", held, {"VisibilityTimeout": 0})
        return ids

    def visible(self, queue: str) -> int:
        """Messages a consumer could receive right now."""
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.urls[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def depth(self, queue: str) -> int:
        """Messages on ``queue``, visible or not."""
        attrs = self.clients.sqs.get_queue_attributes(
            QueueUrl=self.urls[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attrs.values())

    def replay(
        self, source: str, destination: str, *options: str, hold_s: int = HOLD_S
    ) -> subprocess.Popen[str]:
        """``sluice dlq replay`` in its own process, attached to this sandbox (``--json``
        unless ``options`` are given)."""
        command = [sys.executable, "-c", AT_A_TERMINAL, "dlq", "replay", source]
        command += ["--to", destination, "--local", "--hold", str(hold_s)]
        command += options or ("--json",)
        env = {**os.environ, "SLUICE_STATE_DIR": str(self.state_dir)}
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    @property
    def audit(self) -> Path:
        """The audit log the subprocesses append to."""
        return self.state_dir / "replay-audit.jsonl"

    def audited(self) -> int:
        """Audit lines so far."""
        return len(self.audit.read_text().splitlines()) if self.audit.exists() else 0

    def _batch(
        self, url: str, action: str, messages: list[dict[str, Any]], extra: dict[str, Any]
    ) -> None:
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], **extra}
                for i, m in enumerate(messages[start : start + 10])
            ]
            getattr(self.clients.sqs, action)(QueueUrl=url, Entries=entries)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The sandbox's moto server on a free port, provisioned like ``sluice up`` does."""
    server = MotoServer(region=REGION).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=REGION
        )
        clients = Clients(session, endpoint_url=server.endpoint_url)
        done = provision(clients, Topology(APP))
        state_dir = tmp_path_factory.mktemp("state")
        SandboxState(endpoint_url=server.endpoint_url, api_url="", region=REGION).save(
            state_dir / "sandbox.json"
        )
        yield Sandbox(clients, state_dir, done.queue_urls)
    finally:
        server.stop()


def _finish(process: subprocess.Popen[str]) -> Any:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    return json.loads(out)


def _reached(sandbox: Sandbox, process: subprocess.Popen[str], lines: int) -> None:
    """Wait until the audit log has ``lines`` lines (or the process ended)."""
    while sandbox.audited() < lines and process.poll() is None:
        time.sleep(0.002)


def test_sigkill_anywhere_loses_nothing(sandbox: Sandbox) -> None:
    seed = int(os.environ.get("SLUICE_CRASH_SEED", uuid.uuid4().int % 10_000))
    rng = random.Random(seed)
    source, destination = QUEUES
    expected = sandbox.seed(source, MESSAGES)
    # A full run first: it must move everything, and it tells how long moving takes.
    started = time.monotonic()
    report = _finish(sandbox.replay(source, destination))
    took = time.monotonic() - started
    assert report["counts"] == {
        "moved": MESSAGES,
        "skipped_by_filter": 0,
        "skipped": 0,
        "failed": 0,
        "refused": 0,
    }
    assert sorted(sandbox.ids(destination)) == sorted(expected)
    assert sandbox.audited() == MESSAGES
    print(f"\nseed {seed}: a full replay of {MESSAGES} took {took:.1f}s")

    # Then ROUNDS runs killed at points spread over the move (by audited count, then a random
    # instant within a batch), each followed by a clean rerun.
    points = [(i + rng.random()) / ROUNDS * 0.98 for i in range(ROUNDS)]
    rng.shuffle(points)
    for fraction in points:
        source, destination = destination, source
        before = sandbox.audited()
        process = sandbox.replay(source, destination)
        _reached(sandbox, process, before + int(fraction * MESSAGES))
        time.sleep(rng.uniform(0, 0.05))
        assert process.poll() is None, "the replay ended before the kill point"
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        audited = sandbox.audited() - before
        time.sleep(HOLD_S + 0.3)  # what the dead process held becomes visible again

        left, delivered = sandbox.ids(source), sandbox.ids(destination)
        assert set(left) | set(delivered) == expected, "a message was lost"
        both = set(left) & set(delivered)
        assert len(both) <= 10, "more than one batch was sent but not deleted"
        assert max(Counter(delivered).values(), default=0) <= 1  # none yet if killed early
        # deleted from the DLQ only after its audit line was written
        assert audited >= len(set(delivered) - set(left))

        rerun = _finish(sandbox.replay(source, destination))
        assert rerun["counts"]["failed"] == 0
        assert rerun["counts"]["moved"] == len(left)
        assert sandbox.depth(source) == 0
        final = sandbox.ids(destination, dedupe=True)
        assert set(final) == expected
        assert len(final) == MESSAGES + len(both)  # the only copies: sent-not-deleted ones
        print(
            f"killed at {fraction:.2f} of the move: {len(delivered)} delivered, "
            f"{len(left)} left, {len(both)} in both, {audited} audited"
        )


def test_ctrl_c_prints_the_summary_releases_what_it_held_and_exits_130(sandbox: Sandbox) -> None:
    # GIVEN a rate-limited replay of 40 dead letters, moving in its own process
    source, destination = "sluice-inventory-dlq", "sluice-stocktake-dlq"
    expected = sandbox.seed(source, 40)
    before = sandbox.audited()
    # (4/s: 7 s between the 10th move and the last, so a loaded machine still presses Ctrl-C
    # mid-replay; at 10/s one once finished all 40 before the signal)
    process = sandbox.replay(source, destination, "--rate", "4/s", hold_s=120)
    _reached(sandbox, process, before + 10)
    assert process.poll() is None and sandbox.audited() - before < 40, "it ended before Ctrl-C"
    # WHEN the operator presses Ctrl-C
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    # THEN it exits 130 with the summary a finished replay prints, marked interrupted
    moved = sandbox.audited() - before
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert out.splitlines()[-1] == (
        f"{source} -> {destination}: moved {moved}, skipped by filter 0, skipped 0, failed 0, "
        "refused 0, interrupted"
    )
    # AND every message it did not move is visible again now, not after the 120 s hold
    assert 0 < moved < 40
    assert sandbox.visible(source) == 40 - moved
    left, delivered = sandbox.ids(source), sandbox.ids(destination)
    assert set(left) | set(delivered) == expected
    assert not set(left) & set(delivered)
