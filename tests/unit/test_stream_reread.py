"""Stream-failure replay without AWS: re-reading a failed range page by page, and re-driving
its records through a worker, against scripted fakes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluice.ops.errors import UnsupportedError
from sluice.ops.filters import MessageFilter
from sluice.ops.messages import StreamBatch
from sluice.ops.replay import ReplayOptions
from sluice.ops.streams import StreamGoneError, redrive, replay_stream_failures, reread

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"


def _batch(start: int, end: int, size: int) -> StreamBatch:
    return StreamBatch(ARN, "shard-1", str(start), str(end), size, "", "", "", "")


def _record(sequence: int) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(sequence)}}


class Streams:
    """GetShardIterator and GetRecords answered from pages (a page: sequences, or None for an
    answer without a Records list); the iterator ends after the last page."""

    def __init__(self, *pages: list[int] | None, fail: Exception | None = None) -> None:
        self.pages = list(pages)
        self.fail = fail
        self.limits: list[int] = []

    def get_shard_iterator(self, **request: Any) -> dict[str, Any]:
        assert request["ShardIteratorType"] == "AT_SEQUENCE_NUMBER"
        if self.fail is not None:
            raise self.fail
        return {"ShardIterator": "it-0"}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.limits.append(Limit)
        index = int(ShardIterator.removeprefix("it-"))
        page = self.pages[index]
        answer: dict[str, Any] = {}
        if page is not None:
            answer["Records"] = [_record(s) for s in page]
        if index + 1 < len(self.pages):
            answer["NextShardIterator"] = f"it-{index + 1}"
        return answer


def _sequences(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["SequenceNumber"] for r in records]


def test_the_failed_range_is_read_as_lambda_delivered_it_and_nothing_past_its_end() -> None:
    streams = Streams([100, 101], [], None, [102, 103, 104])
    records = reread(streams, _batch(100, 102, 3), "eu-west-1")
    assert _sequences(records) == ["100", "101", "102"]
    assert {(r["eventSource"], r["awsRegion"], r["eventSourceARN"]) for r in records} == {
        ("aws:dynamodb", "eu-west-1", ARN)
    }
    assert streams.limits == [3, 3, 3, 3], "no page read once the range is whole"


def test_a_range_of_one_record_reads_pages_of_one() -> None:
    streams = Streams([7])
    assert _sequences(reread(streams, _batch(7, 7, 1), "eu-west-1")) == ["7"]
    assert streams.limits == [1]


def test_a_page_past_the_end_stops_the_read_with_what_was_found() -> None:
    streams = Streams([100], [101, 102, 103], [104])
    assert _sequences(reread(streams, _batch(100, 102, 3), "r")) == ["100", "101", "102"]
    assert len(streams.limits) == 2


def test_four_empty_pages_in_a_row_are_read_through_and_five_end_the_read() -> None:
    assert _sequences(reread(Streams([1], [], [], [], [], [2]), _batch(1, 2, 2), "r")) == [
        "1",
        "2",
    ]
    with pytest.raises(StreamGoneError, match=r"\(read 1 of 2 records\)"):
        reread(Streams([1], [], [], [], [], [], [2]), _batch(1, 2, 2), "r")
    assert _sequences(reread(Streams([], [], [], [], [1]), _batch(1, 1, 1), "r")) == ["1"]
    with pytest.raises(StreamGoneError, match=r"\(read 0 of 1 records\)"):
        reread(Streams([], [], [], [], [], [1]), _batch(1, 1, 1), "r")


def test_a_trimmed_range_fails_naming_the_shard_sequences_and_the_way_out() -> None:
    with pytest.raises(StreamGoneError) as gone:
        reread(Streams([100]), _batch(100, 102, 3), "r")
    assert str(gone.value) == (
        "the stream no longer holds shard shard-1 sequences 100..102 (read 1 of 3 records); "
        "replay with --from-table"
    )


def test_a_range_the_stream_refuses_to_open_fails_with_the_services_reason() -> None:
    trimmed = ClientError(
        {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}}, "GetShardIterator"
    )
    with pytest.raises(StreamGoneError) as gone:
        reread(Streams(fail=trimmed), _batch(100, 102, 3), "r")
    assert str(gone.value).startswith(
        "the stream no longer holds shard shard-1 sequences 100..102 ("
    )
    assert "TrimmedDataAccessException" in str(gone.value)
    assert str(gone.value).endswith("); replay with --from-table")


class Relay:
    """A stream worker taking two records a batch: raises on a batch holding "crash", and
    fails each record listed in ``fails``."""

    def __init__(self, fails: set[str]) -> None:
        self.spec = SimpleNamespace(batch_size=2)
        self.fails = fails
        self.batches: list[list[str]] = []

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        sequences = _sequences(event["Records"])
        self.batches.append(sequences)
        if "crash" in self.fails and sequences[0] == "1":
            raise RuntimeError("the whole batch failed")
        failures = [{"itemIdentifier": s} for s in sequences if s in self.fails]
        return {"batchItemFailures": failures} if failures else {}


def test_redrive_runs_every_batch_and_returns_each_failed_sequence() -> None:
    relay = Relay({"crash", "4"})
    failed = redrive(relay, [_record(n) for n in range(1, 6)])  # type: ignore[arg-type]
    assert relay.batches == [["1", "2"], ["3", "4"], ["5"]]
    assert failed == {"1", "2", "4"}


def test_redrive_of_batches_that_all_succeed_fails_nothing() -> None:
    relay = Relay(set())
    assert redrive(relay, [_record(n) for n in range(1, 4)]) == set()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        ReplayOptions(filter=MessageFilter(types=("order.*",))),
        ReplayOptions(filter=MessageFilter(ids=frozenset({"m-1"}))),
        ReplayOptions(rate=5.0),
        ReplayOptions(to="elsewhere"),
    ],
)
def test_envelope_options_are_refused_for_stream_failures_before_anything_is_read(
    options: ReplayOptions,
) -> None:
    with pytest.raises(UnsupportedError) as refused:
        replay_stream_failures(None, "relay", options)  # type: ignore[arg-type]
    assert str(refused.value) == (
        "stream failure records carry no envelope and go back through their worker: --type, "
        "--id, --rate and --to do not apply (use --since/--until/--where/--max)"
    )
