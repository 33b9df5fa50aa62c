"""A quiet shard is polled at Lambda's base rate (4 a second); records bring the pace back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sluice.local.logs import LogSink
from sluice.local.stream_poller import IDLE_S, StreamPoller


class _Shard:
    """A fake DynamoDB Streams client: one shard, records only in the calls listed."""

    def __init__(self, busy_calls: set[int]) -> None:
        self.busy_calls = busy_calls
        self.calls = 0

    def describe_stream(self, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": "s-1"}]}}

    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it"}

    def get_records(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        records = [{"n": self.calls}] if self.calls in self.busy_calls else []
        return {"Records": records, "NextShardIterator": "it"}


class _Poller(StreamPoller):
    delivered: list[list[dict[str, Any]]]

    def lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        return record

    def deliver(self, shard_id: str, records: list[dict[str, Any]], attempt: int) -> None:
        self.delivered.append(records)


class _Pauses:
    """Stands in for the poller's stop event: records each pause asked for, sleeps none, and
    reads as "stopped" after ``limit`` pauses."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.asked: list[float] = []

    def is_set(self) -> bool:
        return len(self.asked) >= self.limit

    def wait(self, seconds: float) -> bool:
        self.asked.append(seconds)
        return False


def _read(shard: _Shard, pauses: int) -> tuple[_Poller, list[float]]:
    """Run one shard reader until it has paused ``pauses`` times."""
    clients = SimpleNamespace(client=lambda name: shard, sqs=None)
    worker = SimpleNamespace(spec=SimpleNamespace(name="w", batch_size=10))
    poller = _Poller(
        worker,  # type: ignore[arg-type]
        clients,
        "arn:stream",
        "url",
        sink=LogSink(None),
        region="eu-west-1",
        prefix="p",
    )
    poller.delivered = []
    clock = _Pauses(pauses)
    poller._stop = clock  # type: ignore[assignment]
    poller._read("s-1")
    return poller, clock.asked


def test_a_quiet_shard_slows_to_four_polls_a_second() -> None:
    _, asked = _read(_Shard(busy_calls=set()), pauses=6)
    assert IDLE_S == (0.05, 0.25)  # Lambda's base rate is 4 polls a second per shard
    assert asked == [0.05, 0.1, 0.2, 0.25, 0.25, 0.25]


def test_records_bring_the_fast_pace_back() -> None:
    # records on the 5th poll, once the pauses have reached 0.25 s: no pause after the
    # batch, and the next quiet pause is the first one again
    poller, asked = _read(_Shard(busy_calls={5}), pauses=7)
    assert poller.delivered == [[{"n": 5}]]
    assert asked == [0.05, 0.1, 0.2, 0.25, 0.05, 0.1, 0.2]
