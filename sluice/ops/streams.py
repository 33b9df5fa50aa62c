"""Replay stream failures: re-read the failed records, or reload the items from the table.

A Lambda on-failure record carries only metadata (shard and sequence range). While the
stream still retains the records (24 h on AWS) they are re-read with GetShardIterator
AT_SEQUENCE_NUMBER + GetRecords and re-driven through the stream worker's own handler, so
the relay derives the same deterministic envelope ids as the first time. Otherwise
``from_table`` reloads the current items changed in the batch's time window and re-emits
them as MODIFY records: the state may differ from the failed change, and ids are new.
"""

from __future__ import annotations

import io
import json
import sys
from typing import IO, Any, cast

from botocore.exceptions import ClientError

from sluice.ops.audit import AuditEntry, AuditLog
from sluice.ops.dlqs import depth, find
from sluice.ops.errors import UnsupportedError
from sluice.ops.messages import DlqMessage, StreamBatch
from sluice.ops.reload import reload_records
from sluice.ops.replay import Progress, ReplayOptions, ReplayReport
from sluice.ops.scan import Scanner
from sluice.runtime import Worker
from sluice.runtime.records import lambda_stream_record
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
) -> ReplayReport:
    """Re-drive every on-failure record of a stream failure queue through its worker."""
    if options.filter.types or options.filter.ids or options.rate or options.to:
        raise UnsupportedError(
            "stream failure records carry no envelope and go back through their worker: "
            "--type, --id, --rate and --to do not apply (use --since/--until/--where/--max)"
        )
    found = find(target, name)
    worker = _worker(target, found.dlq.worker)
    audit = None if options.dry_run else AuditLog.open(target, options.audit_path)
    report = ReplayReport(found.dlq.name, f"worker:{worker.spec.name}", options.dry_run)
    streams = target.clients.client("dynamodbstreams")
    with Scanner(target.clients.sqs, found.url, hold_s=options.hold_s) as scan:
        if progress is not None:
            progress.start(depth(target, found.url))
        for batch in scan.batches(options.limit):
            for message in batch:
                if progress is not None:
                    progress.advance(1)
                if message.stream is None:
                    reason = f"not a stream on-failure record: {message.problem or 'no batch info'}"
                    report.skipped.append({"message_id": message.message_id, "reason": reason})
                    continue
                if options.filter.check(json.loads(message.body), message.sent_at) is not None:
                    report.filtered += 1
                    continue
                try:
                    records = (
                        reload_records(target, message.stream)
                        if from_table
                        else reread(streams, message.stream, target.region)
                    )
                except StreamGoneError as exc:
                    report.failed.append({"message_id": message.message_id, "reason": str(exc)})
                    continue
                row = _row(message, len(records), from_table)
                if options.dry_run:
                    report.moved.append(row)
                    continue
                failed = redrive(worker, records)
                if failed:
                    reason = f"{len(failed)} records failed again: {sorted(failed)[:5]}"
                    report.failed.append({"message_id": message.message_id, "reason": reason})
                    continue
                assert audit is not None
                audit.record([_entry(found.dlq.name, worker, message, from_table)])
                scan.delete([message])
                report.moved.append(row)
    return report


def reread(streams: Any, batch: StreamBatch, region: str) -> list[dict[str, Any]]:
    """The records ``batch`` names, shaped as Lambda delivers them; StreamGoneError if trimmed."""
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start_sequence,
        )["ShardIterator"]
    except ClientError as exc:
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


def _row(message: DlqMessage, records: int, from_table: bool) -> dict[str, Any]:
    assert message.stream is not None
    return {
        "message_id": message.message_id,
        "shard_id": message.stream.shard_id,
        "start_sequence": message.stream.start_sequence,
        "end_sequence": message.stream.end_sequence,
        "records": records,
        "via": "table" if from_table else "stream",
    }


def _entry(source: str, worker: Worker, message: DlqMessage, from_table: bool) -> AuditEntry:
    assert message.stream is not None
    span = (
        f"{message.stream.shard_id}:{message.stream.start_sequence}..{message.stream.end_sequence}"
    )
    how = "stream-replay-from-table" if from_table else "stream-replay"
    return AuditEntry(how, source, f"worker:{worker.spec.name}", message.message_id, None, span)
