"""Replay stream failures: from their S3 record, by re-reading the stream, or from the table.

On AWS the failure queue holds S3 notifications, each naming an invocation record that
holds the failed records themselves (``failure_objects``): those records are re-driven
through the stream worker's own handler exactly as they failed, for as long as the bucket
keeps them. A metadata-only on-failure record (the sandbox's, an older deployment's) has
only the shard and sequence range. While the stream still retains the records (24 h on
AWS) they are re-read with GetShardIterator AT_SEQUENCE_NUMBER + GetRecords. Either way the
relay derives the same deterministic envelope ids as the first time. Otherwise
``from_table`` reloads the current items changed in the batch's time window and re-emits
them as MODIFY records: the state may differ from the failed change, and ids are new.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from threading import Event
from typing import IO, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.dlqs import OpenDlq, depth, find
from sluice.ops.errors import UnsupportedError
from sluice.ops.failure_bucket import own_bucket
from sluice.ops.failure_objects import FailureObjectError, fetch
from sluice.ops.messages import DlqMessage, StreamBatch
from sluice.ops.reload import reload_records
from sluice.ops.replay import Progress, ReplayOptions, ReplayReport
from sluice.ops.scan import Scanner
from sluice.runtime import Worker
from sluice.runtime.records import lambda_stream_record, table_from_arn
from sluice.runtime.wiring import wire_worker
from sluice.target import Target

EMPTY_PAGES = 5
"""Empty GetRecords pages in a row after which the range is taken as read."""


class StreamGoneError(Exception):
    """The stream no longer holds some records of the range."""


def replay_stream_failures(
    target: Target,
    name: str,
    options: ReplayOptions,
    from_table: bool = False,
    progress: Progress | None = None,
    *,
    stop: Event | None = None,
) -> ReplayReport:
    """Re-drive every on-failure record of a stream failure queue through its worker.

    A message is a metadata-only on-failure record (re-read from the stream, or reloaded
    from the table), or an S3 notification naming records kept in the failure bucket
    (replayed from the object, exactly). The message is deleted only after every record it
    names went through the worker, and the move was audited. A message naming a bucket
    other than the stack's failure bucket (``failure_bucket``), or a stream other than the
    worker's table's, is refused with the reason, and left in the queue unread. Once
    ``stop`` is set it ends after the message in hand; the rest is released.
    """
    if options.filter.types or options.filter.ids or options.rate or options.to:
        raise UnsupportedError(
            "stream failure records carry no envelope and go back through their worker: "
            "--type, --id, --rate and --to do not apply (use --since/--until/--where/--max)"
        )
    found = find(target, name)
    redriver = _Redriver(target, found, options, from_table)
    with Scanner(target.clients.sqs, found.url, hold_s=options.hold_s) as scan:
        if progress is not None:
            progress.start(depth(target, found.url))
        for batch in scan.batches(options.limit):
            for message in batch:
                if stop is not None and stop.is_set():
                    redriver.report.interrupted = True
                    return redriver.report  # the Scanner releases what it holds
                if progress is not None:
                    progress.advance(1)
                redriver.take(scan, message)
    return redriver.report


class _Redriver:
    """The per-message decisions of one stream-failure replay, and the redrive-audit-delete
    sequence."""

    def __init__(
        self, target: Target, found: OpenDlq, options: ReplayOptions, from_table: bool
    ) -> None:
        self.target = target
        self.source = found.dlq.name
        self.worker = _worker(target, found.dlq.worker)
        self.options = options
        self.from_table = from_table
        self.audit = None if options.dry_run else AuditLog.open(target, options.audit_path)
        self.report = ReplayReport(self.source, f"worker:{self.worker.spec.name}", options.dry_run)
        self.streams = target.clients.client("dynamodbstreams")
        self.s3 = target.clients.client("s3")
        self.trusted = own_bucket(target.clients.sqs, found.url, self.source)
        self.table = target.topology.table(self.worker.spec.table or "")

    def take(self, scan: Scanner, message: DlqMessage) -> None:
        """Re-drive one message's records, or leave it in the queue and say why."""
        if message.notice is not None:
            refusal = self.trusted.refusal(message.notice)
            if refusal is not None:
                return self._note(self.report.refused, message, refusal)
            if message.notice.test_event:
                return self._drop_test_event(scan, message)
        try:
            failures = _failures(self.s3, message, self.trusted.account)
        except NotAFailureError as exc:
            return self._note(self.report.skipped, message, str(exc))
        except FailureObjectError as exc:
            return self._note(self.report.failed, message, str(exc))
        refusal = self._foreign_stream(failures)
        if refusal is not None:
            return self._note(self.report.refused, message, refusal)
        if self.options.filter.check(failures[0].metadata, message.sent_at) is not None:
            self.report.filtered += 1
            return None
        try:
            records = [r for f in failures for r in self._records(f)]
        except StreamGoneError as exc:
            return self._note(self.report.failed, message, str(exc))
        row = _row(message, failures, len(records), self.from_table)
        if self.audit is not None:
            failed = redrive(self.worker, records)
            if failed:
                reason = f"{len(failed)} records failed again: {sorted(failed)[:5]}"
                return self._note(self.report.failed, message, reason)
            entry = _entry(self.source, self.worker, message, failures, self.from_table)
            self.audit.record([entry])
            scan.delete([message])
        self.report.moved.append(row)
        return None

    def _foreign_stream(self, failures: list[Failure]) -> str | None:
        """Why the failures are refused: a stream not of the worker's table (and account)."""
        for failure in failures:
            arn = failure.batch.stream_arn
            account = arn.split(":")[4]
            if table_from_arn(arn) != self.table or account != (self.trusted.account or account):
                return (
                    f"names stream {arn}, not one of table {self.table} that "
                    f"{self.worker.spec.name} reads: not replayed, left in the queue"
                )
        return None

    def _records(self, failure: Failure) -> list[Any]:
        """The failed records: the S3 object's, else re-read from the stream (or the table)."""
        if failure.records is not None:
            return failure.records
        if self.from_table:
            return reload_records(self.target, failure.batch)
        return reread(self.streams, failure.batch, self.target.region)

    def _drop_test_event(self, scan: Scanner, message: DlqMessage) -> None:
        """S3's set-up test event names no failure: delete it (audited) so the alarm can clear."""
        what = "would be deleted" if self.audit is None else "deleted"
        if self.audit is not None:
            entry = AuditEntry(
                "drop-s3-test-event", self.source, "deleted", message.message_id, None
            )
            self.audit.record([entry])
            scan.delete([message])
        reason = f"S3 test event (sent once when the bucket notification was set up): {what}"
        self._note(self.report.skipped, message, reason)

    @staticmethod
    def _note(rows: list[dict[str, Any]], message: DlqMessage, reason: str) -> None:
        rows.append({"message_id": message.message_id, "reason": reason})


class NotAFailureError(Exception):
    """The message names no stream failure: it is skipped, and left in the queue."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed batch a message names: its batch info, and its records if S3 holds them."""

    batch: StreamBatch
    metadata: dict[str, Any]
    """The on-failure record without payload: what --where filters on."""
    records: list[dict[str, Any]] | None = None
    source: str | None = None
    """The S3 object it was read from, if any."""


def _failures(s3: Any, message: DlqMessage, owner: str | None) -> list[Failure]:
    """The failed batches a message names: itself (metadata only) or its S3 objects, read
    only if ``owner`` owns their bucket."""
    if message.stream is not None:
        return [Failure(message.stream, json.loads(message.body))]
    if message.notice is None:
        why = message.problem or "no batch info"
        raise NotAFailureError(f"not a stream on-failure record: {why}")
    if message.notice.problem is not None or not message.notice.objects:
        raise NotAFailureError(message.notice.problem or "S3 notification naming no object")
    failures = []
    for source in message.notice.objects:
        record = fetch(s3, source, owner)
        failures.append(Failure(record.batch, record.metadata, record.records, source.uri))
    return failures


def reread(streams: Any, batch: StreamBatch, region: str) -> list[dict[str, Any]]:
    """The records ``batch`` names, shaped as Lambda delivers them; StreamGoneError if trimmed."""
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start_sequence,
        )["ShardIterator"]
    except (ClientError, BotoCoreError) as exc:
        raise StreamGoneError(_gone(batch, str(exc))) from None
    end = int(batch.end_sequence)
    found: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < EMPTY_PAGES and len(found) < batch.batch_size:
        page = streams.get_records(ShardIterator=iterator, Limit=max(1, batch.batch_size))
        iterator = page.get("NextShardIterator")
        records = page.get("Records", [])
        empty = 0 if records else empty + 1
        for record in records:
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                iterator = None
                break
            found.append(lambda_stream_record(record, batch.stream_arn, region))
    if len(found) < batch.batch_size:
        raise StreamGoneError(_gone(batch, f"read {len(found)} of {batch.batch_size} records"))
    return found


def redrive(worker: Worker, records: list[dict[str, Any]]) -> set[str]:
    """Run the worker's handler over the records, a batch at a time; the sequence numbers failed."""
    failed: set[str] = set()
    size = worker.spec.batch_size
    for start in range(0, len(records), size):
        chunk = records[start : start + size]
        try:
            answer = worker.handler({"Records": chunk}, None)
        except Exception:  # the whole batch failed (BatchFailedError or worse)
            failed |= {str(r["dynamodb"]["SequenceNumber"]) for r in chunk}
            continue
        failed |= {str(f["itemIdentifier"]) for f in answer.get("batchItemFailures", [])}
    return failed


def _worker(target: Target, name: str) -> Worker:
    """The stream worker, on the target's clients; it logs to stderr (stdout is the report's)."""
    declared = target.topology.registry.get(name)
    env = target.topology.worker_environment(target.topic_arn())
    return wire_worker(declared, target.clients, env, log=cast(IO[str], _Stderr()))


class _Stderr(io.TextIOBase):
    """Whatever ``sys.stderr`` is when a line is written (it may be swapped, e.g. by tests)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _gone(batch: StreamBatch, why: str) -> str:
    return (
        f"the stream no longer holds shard {batch.shard_id} sequences {batch.start_sequence}.."
        f"{batch.end_sequence} ({why}); replay with --from-table"
    )


def _via(failure: Failure, from_table: bool) -> str:
    if failure.records is not None:
        return "s3"
    return "table" if from_table else "stream"


def _span(batch: StreamBatch) -> str:
    return f"{batch.shard_id}:{batch.start_sequence}..{batch.end_sequence}"


def _row(
    message: DlqMessage, failures: list[Failure], records: int, from_table: bool
) -> dict[str, Any]:
    first = failures[0]
    return {
        "message_id": message.message_id,
        "shard_id": first.batch.shard_id,
        "start_sequence": first.batch.start_sequence,
        "end_sequence": failures[-1].batch.end_sequence,
        "records": records,
        "via": _via(first, from_table),
        "object": first.source,
    }


def _entry(
    source: str, worker: Worker, message: DlqMessage, failures: list[Failure], from_table: bool
) -> AuditEntry:
    how = {
        "s3": "stream-replay-from-s3",
        "table": "stream-replay-from-table",
        "stream": "stream-replay",
    }[_via(failures[0], from_table)]
    detail = " ".join(_span(f.batch) + (f" {f.source}" if f.source else "") for f in failures)
    return AuditEntry(how, source, f"worker:{worker.spec.name}", message.message_id, None, detail)
