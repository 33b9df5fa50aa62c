"""In-process moto with its requests taken one at a time, as the sandbox's server takes them.

moto's backends are not thread-safe: two threads writing one DynamoDB item at once can
lose an update or raise ``dictionary changed size during iteration`` inside moto's own
deepcopy. Workers run their records on threads, so tests that call them against
in-process moto must serialise moto the way ``sluice.local.server`` does over HTTP.
SQS receives are let through (they may wait for messages), exactly as on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from sluice.local import moto_speedups, sqs_metrics

# Importing moto registers its stubber on botocore's built-in handlers, so only sessions
# created after this import are mocked: import this module before making clients.
_LOCK = threading.RLock()


@contextmanager
def serialized_mock_aws() -> Iterator[None]:
    """``moto.mock_aws()``, with every request but SQS ReceiveMessage under one lock.

    The sandbox's moto speedups apply here too (``moto_speedups``): requests are serialised
    the same way. CloudWatch answers SQS's age of oldest message (``sqs_metrics``).
    """
    moto_speedups.install()
    sqs_metrics.install()
    original = BotocoreStubber.process_request

    def one_at_a_time(self: BotocoreStubber, request: Any) -> Any:
        if _is_receive(request):
            return original(self, request)
        with _LOCK:
            return original(self, request)

    BotocoreStubber.process_request = one_at_a_time  # type: ignore[method-assign]
    try:
        with mock_aws():
            yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


def _is_receive(request: Any) -> bool:
    target = request.headers.get("X-Amz-Target", b"")
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    return str(target).endswith(".ReceiveMessage")
