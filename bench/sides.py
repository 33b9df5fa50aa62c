"""Sluice and Powertools built around the same work function, on the same DynamoDB."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from bench.harness import CallCounter, NullStream
from bench.peers.powertools import PowertoolsAsyncWorker, PowertoolsWorker
from events import CATALOG, ORDER_PLACED
from sluice import testing
from sluice.core import Envelope
from sluice.local.server import MotoServer
from sluice.runtime import Clients, Worker, worker
from sluice.runtime.context import table_variable
from sluice.runtime.wiring import wire_worker

REGION = "eu-west-1"
TABLES = {"idempotency": "bench-idempotency", "state": "bench-state"}
KEYS = {"idempotency": ("id",), "state": ("pk", "sk")}
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:bench"

Work = Callable[[Envelope[Any]], None]
AsyncWork = Callable[[Envelope[Any]], Awaitable[None]]


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that both runtimes read."""

    timeout_s: float = 30.0
    function_name: str = "bench"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:bench"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _end: float = field(init=False)

    def __post_init__(self) -> None:
        self._end = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """What Lambda reports: milliseconds left before the function is killed."""
        return int((self._end - time.monotonic()) * 1000)


@dataclass
class Pair:
    """One workload on both sides, each with a counter on its DynamoDB client."""

    sluice: Worker
    peer: PowertoolsWorker | PowertoolsAsyncWorker
    sluice_calls: CallCounter
    peer_calls: CallCounter


@dataclass
class Sides:
    """A session, Sluice's clients and the tables, on one moto server."""

    clients: Clients

    def dynamodb(self) -> Any:
        """A new DynamoDB client on the same session and config (so its calls count apart)."""
        return self.clients.client("dynamodb")

    def pair(self, name: str, work: Work, *, idempotent: bool = True, threads: int = 10) -> Pair:
        """``work`` as a Sluice worker and as a Powertools worker."""
        declared = _declare(name, work, idempotent=idempotent, threads=threads)
        return self.wrap(declared, work, idempotent=idempotent)

    def async_pair(self, name: str, work: Work, peer_work: AsyncWork, *, threads: int) -> Pair:
        """``work`` as a Sluice worker and ``peer_work`` (its coroutine twin) under Powertools'
        ``AsyncBatchProcessor``; neither side idempotent (Powertools' idempotency is sync)."""
        ours, clients = self._wired(_declare(name, work, idempotent=False, threads=threads))
        peer = PowertoolsAsyncWorker(
            peer_work, logger=Logger(service=f"peer_async_{name}", stream=NullStream())
        )
        return Pair(ours, peer, CallCounter(clients.dynamodb), CallCounter(self.dynamodb()))

    def _wired(self, sluice: Worker) -> tuple[Worker, Clients]:
        """A copy of ``sluice`` wired to this server with clients of its own, logging nowhere."""
        clients = Clients(self.clients.session, endpoint_url=self.clients.endpoint_url)
        env = {table_variable(k): v for k, v in TABLES.items()}
        return wire_worker(sluice, clients, env, log=NullStream()), clients

    def wrap(
        self, sluice: Worker, work: Work, *, peer_client: Any = None, idempotent: bool = True
    ) -> Pair:
        """A copy of ``sluice`` wired here, and ``work`` in Powertools; both log to nowhere."""
        ours, clients = self._wired(sluice)
        peer_client = peer_client or self.dynamodb()
        peer = PowertoolsWorker(
            work,
            table=TABLES["idempotency"],
            client=peer_client,
            logger=Logger(service=f"peer_{sluice.spec.name}", stream=NullStream()),
            idempotent=idempotent,
        )
        return Pair(ours, peer, CallCounter(clients.dynamodb), CallCounter(peer_client))


def _declare(name: str, work: Work, *, idempotent: bool, threads: int) -> Worker:
    """``work`` declared as an order.placed worker taking batches of 10."""
    return worker(
        catalog=CATALOG,
        subscribes=[ORDER_PLACED],
        name=name,
        batch_size=10,
        max_concurrency=threads,
        idempotent=idempotent,
    )(work)


@contextmanager
def sides() -> Iterator[Sides]:
    """A moto server child process with the idempotency (key ``id``, TTL) and state tables."""
    server = MotoServer(region=REGION).start()
    try:
        session = boto3.session.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )
        clients = Clients(session, endpoint_url=server.endpoint_url)
        for logical, table in TABLES.items():
            clients.dynamodb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": k, "AttributeType": "S"} for k in KEYS[logical]
                ],
                KeySchema=[
                    {"AttributeName": k, "KeyType": kind}
                    for k, kind in zip(KEYS[logical], ("HASH", "RANGE"), strict=False)
                ],
            )
        clients.dynamodb.update_time_to_live(
            TableName=TABLES["idempotency"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
        )
        yield Sides(clients)
    finally:
        server.stop()


def envelopes(count: int) -> list[Envelope[Any]]:
    """Fresh order.placed envelopes (new ids, so each is new to idempotency)."""
    return [
        Envelope.new(
            ORDER_PLACED,
            {
                "order_id": f"ord-{i}",
                "customer_id": "cust-bench",
                "items": [{"sku": "SKU-BENCH", "quantity": 1, "unit_price_cents": 500}],
            },
            source="bench",
        )
        for i in range(count)
    ]


def sqs_event(batch: list[Envelope[Any]]) -> dict[str, Any]:
    """A Lambda SQS event delivering ``batch``, each under a new messageId."""
    return testing.sqs_event(*batch, queue_arn=QUEUE_ARN)


def invoke(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]) -> None:
    """One invocation; a benchmark that measured failures would measure the wrong thing."""
    answer = handler(event, LambdaContext())
    if answer.get("batchItemFailures"):
        raise RuntimeError(f"records failed during the benchmark: {answer}")
