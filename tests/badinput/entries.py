"""The entry points of the bad-input matrix, each driven as production drives it.

Every entry ``prepare``s its input where it would really be (on the worker's queue, in the
orders table, in an export file...), then ``run``s it and reports ``Seen``: the exact error
as that entry point reports it, and where the input is afterwards.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from producers.api import OrdersApi, OrdersStore
from producers.operations import OPERATIONS
from sluice.local.logs import LogSink
from sluice.local.sqs_poller import SqsPoller
from sluice.local.stream_poller import StreamPoller
from sluice.ops.errors import OpsError
from sluice.ops.export import import_file
from sluice.publisher import Publisher, PublisherError, PublishFailedError
from sluice.rpc import DirectInvoke
from sluice.runtime import ConfigurationError, SluiceError
from sluice.runtime.sqs_event import RECEIVE_ATTRIBUTES
from sluice.target import Target
from tests.conftest import Pipeline
from tests.factories import REGION
from tests.functional.http_events import api_event, body
from tests.functional.invoke_events import as_payload
from tests.sandboxes import live_state, run_sluice, stale_state

LOG = LogSink(None)


@dataclass(frozen=True)
class Seen:
    """The error an entry point reported, and where the input is now (name -> count)."""

    error: str
    where: dict[str, int] = field(default_factory=dict)


class Entry(Protocol):
    """One way in."""

    name: str

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any: ...

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen: ...


def _bodies(pipeline: Pipeline, queue: str) -> list[str]:
    return [m["Body"] for m in pipeline.drain(queue)]


@dataclass(frozen=True)
class Api:
    """The orders API Lambda, on API Gateway proxy events (payload format 2.0)."""

    name: str = "api"

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        api = OrdersApi(OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders")))
        for path in ("/orders", "/orders"):  # one order stays placed, one gets cancelled
            api.handler(api_event("v2", "POST", path, _ORDER, _JSON), None)
        placed, cancelled = sorted(_order_ids(pipeline))
        api.handler(api_event("v2", "POST", f"/orders/{cancelled}/cancel"), None)
        method, path, text, headers = given
        path = path.format(placed=placed, cancelled=cancelled)
        return api, api_event("v2", method, path, text, headers), (placed, cancelled)

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        api, event, ids = prepared
        answer = api.handler(event, None)
        detail = str(body(answer)["detail"])
        for name, order_id in zip(("{placed}", "{cancelled}"), ids, strict=True):
            detail = detail.replace(order_id, name)
        return Seen(f"{answer['statusCode']} {detail}")


@dataclass(frozen=True)
class Invoke:
    """The same Lambda entry, on direct-invoke payloads (``sluice.rpc``)."""

    name: str = "invoke"

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        api, _, ids = Api().prepare(pipeline, given, tmp)
        method, path, text, headers = given
        path = path.format(placed=ids[0], cancelled=ids[1])
        payload = as_payload(method, path, text, headers)
        assert not isinstance(payload, str), payload
        return DirectInvoke(api.handler, OPERATIONS), payload, ids

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        entry, payload, ids = prepared
        answer = entry(payload, None)
        assert answer["ok"] is False, answer
        detail = str(answer["problem"]["detail"])
        for name, order_id in zip(("{placed}", "{cancelled}"), ids, strict=True):
            detail = detail.replace(order_id, name)
        return Seen(f"{answer['status']} {detail}")


_JSON = {"Content-Type": "application/json"}
_ORDER = json.dumps(
    {"customer_id": "c-1", "items": [{"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}]}
)


def _order_ids(pipeline: Pipeline) -> list[str]:
    found = pipeline.clients.dynamodb.scan(TableName=pipeline.topology.table("orders"))
    return [item["id"]["S"] for item in found["Items"]]


@dataclass(frozen=True)
class Queue:
    """A queue worker, fed by its real queue as the SQS event source mapping feeds it."""

    worker: str
    name: str = "queue"

    def queues(self, pipeline: Pipeline) -> tuple[str, str]:
        names = pipeline.topology.queues(pipeline.registry.get(self.worker).spec)
        return names.queue, names.dlq

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        source, _ = self.queues(pipeline)
        extra = {}
        if source.endswith(".fifo"):
            extra = {"MessageGroupId": "acct-1", "MessageDeduplicationId": uuid.uuid4().hex}
        pipeline.clients.sqs.send_message(QueueUrl=pipeline.url(source), MessageBody=given, **extra)
        return given

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        source, dlq = self.queues(pipeline)
        worker = pipeline.worker(self.worker)
        url = pipeline.url(source)
        poller = SqsPoller(worker, pipeline.clients.sqs, url, sink=LOG, region=REGION, prefix="")
        got = pipeline.clients.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, **RECEIVE_ATTRIBUTES
        )["Messages"]
        poller.deliver(got)  # the sandbox's event source mapping: invoke, delete the settled
        letters = pipeline.drain(dlq)
        attrs = [{k: v["StringValue"] for k, v in m["MessageAttributes"].items()} for m in letters]
        error = "; ".join(
            f"{a['sluice.failure_reason']}: {a['sluice.failure_detail']}" for a in attrs
        )
        where = {
            "dlq": sum(m["Body"] == prepared for m in letters),
            "dlq_says_worker": sum(a["sluice.failed_worker"] == self.worker for a in attrs),
            "source": _depth(pipeline, url),
        }
        return Seen(error, {k: v for k, v in where.items() if v})


def _depth(pipeline: Pipeline, url: str) -> int:
    attrs = pipeline.clients.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


@dataclass(frozen=True)
class Relay:
    """The relay, fed the orders table's stream records as the stream event source feeds it."""

    name: str = "relay"

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        table = pipeline.topology.table("orders")
        for item in given:
            pipeline.clients.dynamodb.put_item(TableName=table, Item=item)
        return None

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        relay = pipeline.worker("relay")
        arn = pipeline.provisioned.stream_arns["orders"]
        reader = StreamPoller(relay, pipeline.clients, arn, "", sink=LOG, region=REGION, prefix="")
        shard = reader.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        iterator = reader.streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        raw = reader.streams.get_records(ShardIterator=iterator)["Records"]
        records = [reader.lambda_record(r) for r in raw]
        failed = relay.handler({"Records": records}, None)["batchItemFailures"]
        logged = [json.loads(line) for line in pipeline.logs.getvalue().splitlines()]
        broken = [r for r in logged if r["message"] == "stored item breaks its contract"]
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        where = {
            # a failed record stays in the stream: the event source retries it, then sends
            # its on-failure record; nothing after it is checkpointed past
            "stream": len(failed),
            "failed_is_the_bad_one": sum(f["itemIdentifier"] == sequence[-1] for f in failed),
            "published": len(_bodies(pipeline, "sluice-audit")),
        }
        error = "; ".join(f"{r['reason']}: {r['detail']}" for r in broken)
        return Seen(error, {k: v for k, v in where.items() if v})


@dataclass(frozen=True)
class Publish:
    """The batched publisher, to the events topic or to the ledger's FIFO queue."""

    name: str = "publisher"

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        return given

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        to, envelopes, options = prepared
        options = dict(options)
        buffered = options.pop("buffered", False)
        if to.startswith("arn:"):
            publisher = Publisher.to_topic(pipeline.clients.sns, to, **options)
        else:
            url = _queue_url(pipeline, to)
            publisher = Publisher.to_queue(pipeline.clients.sqs, url, **options)
        try:
            result = _buffered(publisher, envelopes) if buffered else publisher.publish(envelopes)
        except PublisherError as exc:
            error, kept = f"{type(exc).__name__}: {exc}", len(envelopes)
        except PublishFailedError as exc:
            error, kept = f"{type(exc).__name__}: {exc}", len(exc.result.failed)
        else:
            error = "; ".join(f"{f.code} (sender fault: {f.sender_fault})" for f in result.failed)
            kept = len(result.failed)
        sent = sum(len(_bodies(pipeline, q)) for q in ("sluice-audit", "sluice-ledger.fifo"))
        return Seen(error, {k: v for k, v in {"caller": kept, "sent": sent}.items() if v})


def _buffered(publisher: Publisher, envelopes: list[Any]) -> Any:
    """The context-manager way: add each, flush on leaving the block."""
    with publisher:
        for envelope in envelopes:
            publisher.add(envelope)
    return publisher.result


def _queue_url(pipeline: Pipeline, to: str) -> str:
    """A provisioned queue by name, or any URL as given."""
    return to if to.startswith("http") else pipeline.url(to)


@dataclass(frozen=True)
class Import:
    """``sluice dlq import``: lines of an export file sent back to a queue."""

    name: str = "import"

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        text, to = given
        path = tmp / "dead-letters.jsonl"
        path.write_text(text)
        return path, to, text

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        path, to, text = prepared
        target = Target(pipeline.clients, pipeline.topology, local=True)
        audit = path.with_suffix(".audit.jsonl")
        try:
            report = import_file(target, path, to, audit=audit)
        except (ConfigurationError, OpsError, SluiceError, OSError) as exc:
            error, sent = f"{type(exc).__name__}: {exc}", 0
        else:
            reasons = [s["reason"] for s in report.skipped] + [f["reason"] for f in report.failed]
            error, sent = "; ".join(reasons), report.sent
        where = {
            "file_unchanged": int(not path.exists() or path.read_text() == text),
            "sent": sent,
            "arrived": len(_bodies(pipeline, "sluice-audit")),
            "audited": len(audit.read_text().splitlines()) if audit.exists() else 0,
        }
        return Seen(error, {k: v for k, v in where.items() if v})


@dataclass(frozen=True)
class Cli:
    """``sluice ARGS`` as an operator runs it: a subprocess whose state folder holds no
    sandbox, the state file a ``kill -9`` of ``sluice up`` left (``stale``), or a ``live``
    moto server with the app provisioned. Next to it: ``bad.json`` (not JSON),
    ``all-bad.jsonl`` (no line an import takes) and ``folder/``; ``{tmp}`` in ARGS is that
    place. The error is all the command printed, with ``{tmp}``, ``{endpoint}`` and ``{pid}``
    for what changes between runs."""

    name: str = "cli"

    def prepare(self, pipeline: Pipeline, given: Any, tmp: Path) -> Any:
        sandbox, args = given
        state = tmp / "state"
        state.mkdir()
        (tmp / "folder").mkdir()
        (tmp / "bad.json").write_text("{bad\n")
        (tmp / "all-bad.jsonl").write_text("{broken\n[1]\n")
        server, names = None, {str(tmp): "{tmp}"}
        if sandbox == "stale":
            gone = stale_state(state)
            names |= {gone.endpoint_url: "{endpoint}", f"pid {gone.pid}": "pid {pid}"}
        elif sandbox == "live":
            server, live = live_state(pipeline.app, state)
            names[live.endpoint_url] = "{endpoint}"
        return [a.replace("{tmp}", str(tmp)) for a in args], state, server, names

    def run(self, pipeline: Pipeline, prepared: Any) -> Seen:
        args, state, server, names = prepared
        try:
            done = run_sluice(state, *args)
        finally:
            if server is not None:
                server.stop()
        said = (done.stdout + done.stderr).strip()
        for value, name in names.items():
            said = said.replace(value, name)
        where = {"exit": done.returncode, "traceback": int("Traceback" in said)}
        return Seen(said, {k: v for k, v in where.items() if v})
