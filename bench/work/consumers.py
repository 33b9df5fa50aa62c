"""The peers ``sluice work`` is measured against, each as a process of its own.

``python -m bench.work.consumers KIND --endpoint-url URL --queue-url URL --topic-arn ARN
[--worker NAME]`` consumes until SIGTERM, as ``sluice work`` does, so the bench measures
every consumer alike: from outside, its own CPU apart from moto's and the bench's.

- ``poller``: the sandbox's Lambda-style poller on the worker (its engine, 5 x 10), writing
  its log lines to a file as the sandbox does (``sluice work`` writes them to stdout);
- ``pool``: ``bench/peers/pooled_consumer.py``, a thread pool of ``--concurrency``; for an
  idempotent worker each record runs under Powertools' ``idempotent_function`` on the same
  DynamoDB table (a claim and a completion per record, as Sluice's);
- ``loop``: the naive boto3 loop, one thread, one record at a time.

It prints ``READY`` once it consumes.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.peers.pooled_consumer import PooledConsumer
from bench.work.app import APP
from sluice.local.logs import LogSink
from sluice.local.sqs_poller import SqsPoller
from sluice.runtime import Clients
from sluice.runtime.wiring import wire_worker
from sluice.target import SANDBOX_REGION, sandbox_session
from sluice.topology import Topology

READY = "READY"


class Stoppable:
    """What ``main`` starts and stops."""

    def __init__(self, start: Callable[[], None], stop: Callable[[], None]) -> None:
        self.start = start
        self.stop = stop


def poller(clients: Clients, args: argparse.Namespace) -> Stoppable:
    """The sandbox's Lambda-style poller on the bench worker."""
    topology = Topology(APP)
    sink = LogSink(Path("poller.log"))  # the sandbox writes its log too, as sluice work does
    wired = wire_worker(
        APP.registry.get(args.worker),
        clients,
        topology.worker_environment(args.topic_arn),
        log=sink,  # type: ignore[arg-type]
    )
    found = SqsPoller(
        wired, clients.sqs, args.queue_url, sink=sink, region=SANDBOX_REGION, prefix=APP.prefix
    )
    return Stoppable(found.start, found.stop)


def pool(clients: Clients, args: argparse.Namespace) -> Stoppable:
    """A boto3 consumer with a thread pool; Powertools idempotency if the worker has it."""
    spec = APP.registry.get(args.worker).spec

    def wait(event: dict[str, Any]) -> None:
        time.sleep(event["data"]["sleep_ms"] / 1000)

    run = _idempotent(wait, clients, spec.idempotency_ttl_s) if spec.idempotent else wait

    def work(message: dict[str, Any]) -> None:
        run(event=json.loads(message["Body"]))

    found = PooledConsumer(clients.sqs, args.queue_url, work, args.concurrency)
    return Stoppable(found.start, found.stop)


def _idempotent(
    wait: Callable[[dict[str, Any]], None], clients: Clients, ttl_s: int
) -> Callable[..., Any]:
    """``wait`` under Powertools' ``idempotent_function``, keyed by the envelope's id, on the
    app's idempotency table (the key and TTL attribute Powertools expects: ``id``,
    ``expiration``)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    table = Topology(APP).table("idempotency")
    return idempotent_function(  # type: ignore[no-any-return]
        wait,
        data_keyword_argument="event",
        persistence_store=DynamoDBPersistenceLayer(table_name=table, boto3_client=clients.dynamodb),
        config=IdempotencyConfig(
            event_key_jmespath="id", raise_on_no_idempotency_key=True, expires_after_seconds=ttl_s
        ),
    )


def loop(clients: Clients, args: argparse.Namespace) -> Stoppable:
    """Receive 10, sleep each in turn, delete the batch: concurrency 1."""
    sqs, stop = clients.sqs, threading.Event()

    def run() -> None:
        while not stop.is_set():
            got = sqs.receive_message(
                QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in got:
                time.sleep(json.loads(message["Body"])["data"]["sleep_ms"] / 1000)
            if got:
                sqs.delete_message_batch(
                    QueueUrl=args.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(got)
                    ],
                )

    thread = threading.Thread(target=run, daemon=True)

    def halt() -> None:
        stop.set()
        thread.join()

    return Stoppable(thread.start, halt)


KINDS = {"poller": poller, "pool": pool, "loop": loop}


def main(argv: list[str] | None = None) -> int:
    """Consume until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.work.consumers")
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--topic-arn", required=True)
    parser.add_argument("--worker", default="io")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    clients = Clients(sandbox_session(SANDBOX_REGION), endpoint_url=args.endpoint_url)
    consumer = KINDS[args.kind](clients, args)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    consumer.start()
    print(READY, flush=True)
    while not stopped.wait(0.5):
        pass
    consumer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
