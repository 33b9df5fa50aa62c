"""The orders API behind the real local HTTP front, and raw requests to it."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from producers.api import OrdersApi, OrdersStore
from sluice.local.http_front import ApiServer
from sluice.local.logs import LogSink
from tests.conftest import Pipeline
from tests.factories import REGION


@contextmanager
def serve_api(pipeline: Pipeline) -> Iterator[ApiServer]:
    """The orders API over real HTTP on 127.0.0.1, on the pipeline's moto."""
    api = OrdersApi(OrdersStore(pipeline.clients.dynamodb, pipeline.topology.table("orders")))
    server = ApiServer([api.handler], LogSink(None), region=REGION, prefix="fuzz").start()
    try:
        yield server
    finally:
        server.stop()


def send(front: ApiServer, raw: bytes, method: str) -> tuple[int, dict[str, str], bytes]:
    """Raw bytes on a connection of their own; the answer as http.client reads it."""
    port = int(front.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        answer = http.client.HTTPResponse(sock, method=method)
        answer.begin()
        return answer.status, dict(answer.getheaders()), answer.read()


def request(front: ApiServer, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
    """One request, bytes as given (http.client would refuse some of them)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    return send(front, raw, method)
