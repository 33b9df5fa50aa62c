"""A sandbox's container child may start before its queue exists: it waits, within bounds."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sluice.container.launch import _queue_url


class _Missing(Exception):
    """Stands in for botocore's QueueDoesNotExist."""


class _Sqs:
    def __init__(self, missing_for: int) -> None:
        self.missing_for = missing_for
        self.asked = 0
        self.exceptions = SimpleNamespace(QueueDoesNotExist=_Missing)

    def get_queue_url(self, QueueName: str) -> dict[str, Any]:
        self.asked += 1
        if self.asked <= self.missing_for:
            raise _Missing(QueueName)
        return {"QueueUrl": f"http://sqs/{QueueName}"}


def test_a_child_of_the_sandbox_waits_for_its_queue() -> None:
    sqs = _Sqs(missing_for=3)
    assert _queue_url(sqs, "p-receipts", wait_s=5) == "http://sqs/p-receipts"
    assert sqs.asked == 4


def test_without_a_wait_a_missing_queue_fails_at_once() -> None:
    sqs = _Sqs(missing_for=1)
    with pytest.raises(_Missing):
        _queue_url(sqs, "p-receipts", wait_s=0)
    assert sqs.asked == 1


def test_the_wait_is_bounded() -> None:
    sqs = _Sqs(missing_for=10**6)
    with pytest.raises(_Missing):
        _queue_url(sqs, "p-receipts", wait_s=0.2)
    assert 1 < sqs.asked < 100
