"""Replay any DLQ by name: queue DLQs are sent back, stream failure queues re-driven.

The one entry point ``sluice dlq replay`` calls; the kind of DLQ decides the way.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Event

from sluice.ops.dlqs import find
from sluice.ops.errors import OpsError
from sluice.ops.replay import Progress, ReplayOptions, ReplayReport, replay
from sluice.ops.streams import replay_stream_failures
from sluice.target import Target
from sluice.topology import DlqKind

FROM_TABLE_WARNING = (
    "--from-table re-emits each item as it is NOW; the failed change may have been "
    "different, and the events get new ids"
)


def replay_dlq(
    target: Target,
    name: str,
    options: ReplayOptions,
    *,
    from_table: bool = False,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    stop: Event | None = None,
) -> ReplayReport:
    """Replay the DLQ ``name`` (or worker ``name``'s) the way its kind needs.

    Queue and subscription DLQs go through ``replay`` (send, audit, then delete). Stream
    failure queues go through ``replay_stream_failures``: the records are re-read from the
    stream, or with ``from_table`` reloaded from the table, after ``warn`` is told what that
    means. ``from_table`` on any other DLQ is refused before anything moves. Setting
    ``stop`` (Ctrl-C) ends either kind between two calls, the report marked interrupted.
    """
    kind = find(target, name).dlq.kind
    if kind is not DlqKind.STREAM_FAILURE:
        if from_table:
            raise OpsError("--from-table applies to stream failure queues only")
        return replay(target, name, options, progress, stop)
    if from_table and warn is not None:
        warn(FROM_TABLE_WARNING)
    return replay_stream_failures(target, name, options, from_table, progress, stop=stop)
