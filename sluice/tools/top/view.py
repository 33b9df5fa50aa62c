"""How a snapshot looks: the columns of ``sluice top``, with what an alarm fires on in red."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.table import Table
from rich.text import Text

from sluice.tools.top.rows import Snapshot, WorkerRow

ALARM_STYLE = "bold red"
# Short headers, so that every figure fits 80 columns; LEGEND says what they mean.
COLUMNS = (
    ("worker", "worker"),
    ("source", "source"),
    ("queue", "queue"),
    ("age", "oldest"),
    ("dlq", "DLQ"),
    ("processed", "done"),
    ("failed", "failed"),
    ("dead_lettered", "DLQ'd"),
    ("duplicates", "dups"),
    ("p50", "p50"),
    ("p95", "p95"),
    ("concurrency", "conc"),
)
LABELS = dict(COLUMNS)
LEGEND = (
    "queue: visible/in flight; done, failed, DLQ'd, dups: per minute; p50, p95: invocation "
    "ms; conc: concurrency"
)
DROP_FIRST = ("source", "duplicates", "concurrency", "p50", "age")
"""The columns a narrow terminal loses first, in this order; the worker is never dropped."""
CELL_PADDING = 2
"""What a table adds to each column: one cell on each side."""


def cells(row: WorkerRow) -> dict[str, Text]:
    """One row's cells by column key; a cell an alarm fires on is red."""
    d, f = row.depth, row.figures
    queue = "-" if d.visible is None else f"{d.visible}/{d.in_flight}"
    plain = {
        "worker": row.worker,
        "source": row.source,
        "queue": queue,
        "age": _age(f.age_s),
        "dlq": _num(d.dlq),
        "processed": _num(f.processed),
        "failed": _num(f.failed),
        "dead_lettered": _num(f.dead_lettered),
        "duplicates": _num(f.duplicates),
        "p50": _num(f.p50_ms),
        "p95": _num(f.p95_ms),
        "concurrency": _num(f.concurrency),
    }
    return {
        key: Text(value, style=ALARM_STYLE if key in row.alarms else "")
        for key, value in plain.items()
    }


def fitting(rows: list[dict[str, Text]], width: int) -> list[str]:
    """The column keys that fit ``width`` cells with every cell whole, dropping the
    ``DROP_FIRST`` columns in order until they do (the rest then scrolls)."""
    need = {
        key: CELL_PADDING + max([len(label), *(cells[key].cell_len for cells in rows)])
        for key, label in COLUMNS
    }
    keys = [key for key, _ in COLUMNS]
    for key in DROP_FIRST:
        if sum(need[k] for k in keys) <= width:
            break
        keys.remove(key)
    return keys


def title(snapshot: Snapshot) -> str:
    """What is watched, when, and over which window."""
    at = datetime.fromtimestamp(snapshot.at, UTC).strftime("%H:%M:%S")
    return f"sluice top: {snapshot.where} at {at} UTC (rates over {snapshot.window_s} s)"


def table(snapshot: Snapshot) -> Table:
    """The whole snapshot as one rich table (``--once``)."""
    grid = Table(
        title=title(snapshot), title_justify="left", caption=LEGEND, caption_justify="left"
    )
    for _, label in COLUMNS:
        grid.add_column(label, justify="left" if label in ("worker", "source") else "right")
    for row in snapshot.rows:
        by_key = cells(row)
        grid.add_row(*(by_key[key] for key, _ in COLUMNS))
    return grid


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m"
