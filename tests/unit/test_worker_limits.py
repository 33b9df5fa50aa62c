"""A worker declaration within AWS's limits is taken; one step past any of them is refused.

Each limit is checked at both ends: the last value AWS takes declares, the next one fails
at import with a sentence naming the setting (never at deploy time, or silently on AWS).
"""

from __future__ import annotations

from typing import Any

import pytest

from events import CATALOG
from sluice.runtime import ConfigurationError, Source, Worker, worker


def _declare(**settings: Any) -> Worker:
    def handle(event: Any) -> None:
        return None

    return worker(catalog=CATALOG, name="limits", **settings)(handle)


FIFO = {"source": Source.FIFO_QUEUE, "group_by": "account_id"}
CONTAINER = {"runtime": "container"}
STREAM = {"source": Source.STREAM, "table": "orders"}


@pytest.mark.parametrize(
    "settings",
    [
        {"batch_size": 1},
        {"batch_size": 10_000, "batching_window_s": 1},
        {"batch_size": 10, **FIFO},
        {"batch_size": 11, "batching_window_s": 1},
        {"batch_size": 11, "batching_window_s": 1, "source": Source.SQS_QUEUE},
        {"batching_window_s": 300},
        {"batching_window_s": 0},
        {"timeout_s": 900},
        {"timeout_s": 1, "timeout_margin_s": 0.5},
        {"memory_mb": 128},
        {"memory_mb": 10_240},
        {"max_invocations": 2},
        {"max_concurrency": 1},
        {"max_receive_count": 1},
        {"max_receive_count": 1000},
        {**CONTAINER, "min_tasks": 3, "max_tasks": 3},
        {**CONTAINER, "min_tasks": 1, "max_tasks": 1000},
        {**CONTAINER, "throughput": 0.5},
        {**CONTAINER, "timeout_s": 60, "max_job_s": 60},
        {**STREAM, "parallelization": 1},
        {**STREAM, "parallelization": 10},
    ],
    ids=repr,
)
def test_a_declaration_at_the_edge_of_every_limit_is_taken(settings: dict[str, Any]) -> None:
    _declare(**settings)


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"batch_size": 0}, "batch_size must be 1..10000, got 0"),
        ({"batch_size": 10_001, "batching_window_s": 1}, "batch_size must be 1..10000, got 10001"),
        ({"batch_size": 11, **FIFO}, "batch_size must be 1..10, got 11"),
        ({"batch_size": 11}, "batch_size > 10 needs batching_window_s >= 1"),
        (
            {"batch_size": 11, "batching_window_s": 0, "source": Source.SQS_QUEUE},
            "batch_size > 10 needs batching_window_s >= 1",
        ),
        ({"batching_window_s": 301}, "batching_window_s must be 0..300"),
        ({"batching_window_s": -1}, "batching_window_s must be 0..300"),
        ({"timeout_s": 901}, "timeout_s must be 1..900, got 901"),
        ({"timeout_s": 0}, "timeout_s must be 1..900, got 0"),
        ({"memory_mb": 127}, "memory_mb must be 128..10240"),
        ({"memory_mb": 10_241}, "memory_mb must be 128..10240"),
        ({"max_invocations": 1}, "max_concurrency >= 1 and max_invocations >= 2"),
        ({"max_concurrency": 0}, "max_concurrency >= 1 and max_invocations >= 2"),
        ({"max_receive_count": 0}, "max_receive_count must be 1..1000"),
        ({"max_receive_count": 1001}, "max_receive_count must be 1..1000"),
        ({"batch": True, **FIFO}, "batch=True cannot keep a FIFO queue's order"),
        ({"batch": True, "idempotent": True}, "batch=True workers get no idempotency"),
        (
            {**CONTAINER, "min_tasks": 4, "max_tasks": 3},
            "container tasks need 1 <= min_tasks <= max_tasks <= 1000, got min_tasks=4, "
            "max_tasks=3",
        ),
        ({**CONTAINER, "max_tasks": 1001}, "max_tasks=1001"),
        ({**CONTAINER, "min_tasks": 0}, "min_tasks=0"),
        ({**CONTAINER, "throughput": 0}, "throughput (records/s per task) must be > 0"),
        (
            {**CONTAINER, "timeout_s": 60, "max_job_s": 59},
            "max_job_s must be at least timeout_s",
        ),
        ({**STREAM, "parallelization": 0}, "parallelization (batches in flight per stream"),
        ({**STREAM, "parallelization": 11}, "shard) must be 1..10, got 11"),
        ({"parallelization": 2}, "parallelization is batches per stream shard; a queue worker"),
    ],
    ids=repr,
)
def test_a_declaration_one_step_past_a_limit_is_refused_naming_it(
    settings: dict[str, Any], error: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _declare(**settings)
    assert str(refused.value).startswith("worker 'limits' (tests.unit.test_worker_limits): ")
    assert error in str(refused.value)


def test_a_batch_on_a_fifo_queue_is_refused_with_how_to_fix_it() -> None:
    with pytest.raises(ConfigurationError) as refused:
        _declare(batch=True, idempotent=False, **FIFO)
    assert str(refused.value).endswith(
        "batch=True cannot keep a FIFO queue's order (a failed record would not hold back the "
        "rest of its group); take records one by one (omit batch=True)"
    )


def test_an_idempotent_batch_is_refused_with_how_to_fix_it() -> None:
    with pytest.raises(ConfigurationError) as refused:
        _declare(batch=True, idempotent=True)
    assert str(refused.value).endswith(
        "batch=True workers get no idempotency from the engine (a batch is no single effect to "
        "claim); pass idempotent=False and make the batch's effects idempotent (e.g. writes "
        "keyed on each envelope id), or omit batch=True"
    )
