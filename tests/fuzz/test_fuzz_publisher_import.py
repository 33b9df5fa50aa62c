"""Fuzz the publisher (any envelope, size and group) and ``sluice dlq import`` (any line).

Invariants: nothing escapes but the documented errors; every envelope or line is accounted
for (sent, refused with a reason, or skipped with one); what is reported sent arrived, as
it was sent, and in order within each FIFO group.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sluice.core import Envelope
from sluice.ops.export import import_file
from sluice.publisher import Publisher, PublisherError, RetryPolicy
from sluice.target import Target
from tests.conftest import Pipeline
from tests.fuzz.strategies import PATHOLOGICAL, TYPES, bodies, json_values, sqs_text

ANY_TEXT = st.text(max_size=40)
"""Any Python text, lone surrogates included: what a caller might hand the publisher."""
SIZES = st.one_of(st.integers(0, 2000), st.integers(200_000, 300_000))


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope[Any]:
    """Any envelope: any type, id, correlation id, payload, size and group value."""
    data = {
        "account_id": draw(st.none() | ANY_TEXT | st.integers()),
        "payload": draw(json_values),
        "pad": "x" * draw(SIZES),
    }
    return Envelope.new(
        draw(TYPES | ANY_TEXT),
        data,
        source=draw(st.just("fuzz") | ANY_TEXT),
        id=f"{draw(ANY_TEXT)}-{uuid.uuid4()}",  # unique: FIFO dedup must not eat a message
        correlation_id=draw(st.none() | ANY_TEXT),
    )


@given(batch=st.lists(envelopes(), min_size=1, max_size=8), fifo=st.booleans())
def test_the_publisher_accounts_for_every_envelope(
    pipeline: Pipeline, batch: list[Envelope[Any]], fifo: bool
) -> None:
    queue = "sluice-ledger.fifo" if fifo else "sluice-audit"
    group_by = {e.type: "account_id" for e in batch}
    publisher = Publisher.to_queue(
        pipeline.clients.sqs,
        pipeline.url(queue),
        group_by=group_by,
        retry=RetryPolicy(attempts=2, base_s=0),
        sleep=lambda _: None,
    )
    try:
        result = publisher.publish(batch)
    except PublisherError as exc:  # refused before any call: nothing was sent
        assert str(exc)
        assert pipeline.drain(queue) == []
        return
    messages = pipeline.drain(queue)
    arrived = [json.loads(m["Body"]) for m in messages]
    assert len(result.sent) + len(result.failed) == len(batch)
    assert sorted(result.failed_ids + [s.envelope_id for s in result.sent]) == sorted(
        e.id for e in batch
    )
    assert sorted(doc["id"] for doc in arrived) == sorted(s.envelope_id for s in result.sent)
    by_id = {e.id: e for e in batch}
    for doc in arrived:
        assert doc == json.loads(json.dumps(by_id[doc["id"]].to_dict()))
    if fifo:  # within each group, the envelopes arrived in the order they were given
        order = {e.id: n for n, e in enumerate(batch)}
        groups: dict[str, list[int]] = {}
        for message, doc in zip(messages, arrived, strict=True):
            group = message["Attributes"]["MessageGroupId"]
            groups.setdefault(group, []).append(order[doc["id"]])
        assert all(positions == sorted(positions) for positions in groups.values())


def _lines() -> st.SearchStrategy[bytes]:
    export_lines = st.fixed_dictionaries(
        {"body": bodies | st.integers() | st.none()},
        optional={
            "message_id": sqs_text | st.integers(),
            "attributes": json_values,
            "group_id": json_values,
            "source": json_values,
        },
    ).map(lambda d: json.dumps(d).encode())
    return st.one_of(export_lines, st.binary(max_size=200), PATHOLOGICAL.map(str.encode))


@given(lines=st.lists(_lines(), min_size=1, max_size=12))
def test_dlq_import_accounts_for_every_line(
    pipeline: Pipeline, tmp_path_factory: Any, lines: list[bytes]
) -> None:
    pipeline.drain("sluice-audit")  # what an earlier example left must not count here
    folder = Path(tmp_path_factory.mktemp("import"))
    path = folder / "dead.jsonl"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    target = Target(pipeline.clients, pipeline.topology, local=True)
    report = import_file(target, path, "sluice-audit", audit=folder / "audit.jsonl")
    counted = [line for line in data.split(b"\n") if line.strip()]
    assert report.sent + len(report.skipped) + len(report.failed) == len(counted)
    assert all(s["reason"] for s in [*report.skipped, *report.failed])
    assert len(pipeline.drain("sluice-audit")) == report.sent
    audit = folder / "audit.jsonl"
    audited = audit.read_text().splitlines() if audit.exists() else []
    assert len(audited) == report.sent
    assert path.read_bytes() == data
