"""A DynamoDB Streams event source mapping, with Lambda's failure handling.

Per shard, in order: read up to batch_size records and invoke. A partial batch response
checkpoints at the lowest failing sequence number and retries from there; a raised error
bisects the batch (halves retried separately); a batch that still fails after
``retry_attempts`` retries, or records older than ``max_record_age_s``, are skipped and an
on-failure record is written the way Lambda writes it to an S3 destination: the whole
invocation record, the batch's records included, under Lambda's key layout, in the worker's
failure bucket, which announces it on the stream failure queue. Without a bucket the
metadata-only record (an SQS destination's) goes to the queue itself.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sluice.local.function import Result, invoke
from sluice.local.logs import LogSink
from sluice.runtime import Worker
from sluice.runtime.records import lambda_stream_record

IDLE_S = (0.05, 0.25)
"""Pause between GetRecords calls on a quiet shard: the first, doubling up to the last while
the shard stays quiet. Lambda polls a DynamoDB stream's shard 4 times a second; polling
faster only while records flow keeps the sandbox's latency low and its idle cost small."""
RETRY_PAUSE_S = 0.05
"""Base pause before retrying a failed batch (doubles per attempt, capped at 1 s)."""
EXHAUSTED = "RetryAttemptsExhausted"
TOO_OLD = "MaximumRecordAgeExceeded"


class StreamPoller:
    """Reads one table's stream, one thread per shard, and invokes a stream worker."""

    def __init__(
        self,
        worker: Worker,
        clients: Any,
        stream_arn: str,
        failure_queue_url: str,
        *,
        sink: LogSink,
        region: str,
        prefix: str,
        failure_bucket: str | None = None,
    ) -> None:
        self.worker = worker
        self.spec = worker.spec
        self.streams = clients.client("dynamodbstreams")
        self.sqs = clients.sqs
        self.stream_arn = stream_arn
        self.failure_queue_url = failure_queue_url
        self.failure_bucket = failure_bucket
        self.s3 = clients.client("s3") if failure_bucket else None
        # Lambda names objects after the event source mapping; the sandbox has none, so a
        # stable stand-in is derived from the function and the stream.
        self.mapping_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}-{self.spec.name}|{stream_arn}")
        )
        self.sink = sink
        self.region = region
        self.prefix = prefix
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one reader per shard."""
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in shards["Shards"]:
            thread = threading.Thread(
                target=self._read, args=(shard["ShardId"],), name=f"shard-{self.spec.name}"
            )
            self._threads.append(thread)
            thread.start()

    def halt(self) -> None:
        """Ask the poller to stop (``stop`` waits for it)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop reading (a batch in flight completes first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _read(self, shard_id: str) -> None:
        iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        pause = IDLE_S[0]
        while not self._stop.is_set():
            try:
                page = self.streams.get_records(ShardIterator=iterator, Limit=self.spec.batch_size)
                records = [self.lambda_record(r) for r in page.get("Records", [])]
                if records:
                    self.deliver(shard_id, records, attempt=0)
            except BaseException as exc:  # whatever broke, the reader lives on: read again
                if not self._stop.is_set():
                    self.sink.event(
                        "shard read failed; retrying from the checkpoint",
                        worker=self.spec.name,
                        correlation_id="-",
                        level="WARNING",
                        error=f"{type(exc).__name__}: {exc}",
                    )
                    self._stop.wait(1)
                continue
            iterator = page.get("NextShardIterator") or iterator  # checkpoint: batch handled
            if records:
                pause = IDLE_S[0]
            else:
                self._stop.wait(pause)
                pause = min(2 * pause, IDLE_S[1])

    def lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A GetRecords record -> the record Lambda hands a function."""
        return lambda_stream_record(record, self.stream_arn, self.region)

    def deliver(self, shard_id: str, records: list[dict[str, Any]], attempt: int) -> None:
        """Invoke until the batch succeeds or is handed to the on-failure destination."""
        while records and not self._stop.is_set():
            records = self._drop_expired(shard_id, records)
            if not records:
                return
            for record in records:
                self._hop(record, attempt)
            result = invoke(
                self.worker, {"Records": records}, self.sink, region=self.region, prefix=self.prefix
            )
            if result.ok:
                return
            if result.error is not None and len(records) > 1:
                half = len(records) // 2
                self._note("bisect", records, attempt, halves=[half, len(records) - half])
                self.deliver(shard_id, records[:half], attempt)
                self.deliver(shard_id, records[half:], attempt)
                return
            if result.error is None:
                numbers = [_seq(r) for r in records]
                failing = [numbers.index(n) for n in result.failed_ids if n in numbers]
                records = records[min(failing, default=0) :]  # unknown ids: retry it all
                self._note("checkpoint", records, attempt, sequence_number=_seq(records[0]))
            if attempt >= self.spec.retry_attempts:
                self.on_failure(shard_id, records, EXHAUSTED, result, attempt + 1)
                return
            attempt += 1
            self._stop.wait(min(1.0, RETRY_PAUSE_S * 2**attempt))

    def _drop_expired(self, shard_id: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        cutoff = time.time() - self.spec.max_record_age_s
        old = [r for r in records if _created(r) < cutoff]
        if old:
            self.on_failure(shard_id, old, TOO_OLD, None, 0)
        return [r for r in records if _created(r) >= cutoff]

    def on_failure(
        self,
        shard_id: str,
        records: list[dict[str, Any]],
        condition: str,
        result: Result | None,
        invokes: int,
    ) -> None:
        """Write Lambda's on-failure record to the failure bucket (or, metadata only, the queue)."""
        context = result.context if result else None
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result is not None and result.error is not None:
            response["functionError"] = "Unhandled"
        body = {
            "requestContext": {
                "requestId": context.aws_request_id if context else "",
                "functionArn": context.invoked_function_arn if context else "",
                "condition": condition,
                "approximateInvokeCount": invokes,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": _seq(records[0]),
                "endSequenceNumber": _seq(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(_created(records[0])),
                "approximateArrivalOfLastRecord": _iso(_created(records[-1])),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        if self.s3 is None:
            self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps(body))
            self._note(
                "on-failure record sent", records, invokes, level="ERROR", condition=condition
            )
            return
        body["payload"] = json.dumps({"Records": records}, default=_binary)
        key = self._object_key(shard_id)
        self.s3.put_object(Bucket=self.failure_bucket, Key=key, Body=json.dumps(body).encode())
        self._note(
            "on-failure record sent", records, invokes, level="ERROR", condition=condition, key=key
        )

    def _object_key(self, shard_id: str) -> str:
        """``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``, as Lambda."""
        now = datetime.now(UTC)
        stamp = f"{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
        return f"aws/lambda/{self.mapping_id}/{shard_id}/{stamp}"

    def _hop(self, record: dict[str, Any], attempt: int) -> None:
        self.sink.event(
            "stream delivered",
            worker=self.spec.name,
            table=self.spec.table,
            correlation_id=_correlation(record),
            sequence_number=_seq(record),
            event_name=record.get("eventName"),
            written_ts=_created(record),
            attempt=attempt,
        )

    def _note(
        self, message: str, records: list[dict[str, Any]], attempt: int, **extra: Any
    ) -> None:
        self.sink.event(
            message,
            worker=self.spec.name,
            correlation_id=_correlation(records[0]),
            first=_seq(records[0]),
            last=_seq(records[-1]),
            size=len(records),
            attempt=attempt,
            **extra,
        )


def _binary(value: Any) -> str:
    """Binary attribute values travel base64-encoded, as Lambda delivers them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _created(record: dict[str, Any]) -> float:
    return float(record["dynamodb"].get("ApproximateCreationDateTime") or time.time())


def _correlation(record: dict[str, Any]) -> str:
    image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
    return str(image.get("correlation_id", {}).get("S", "-"))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
