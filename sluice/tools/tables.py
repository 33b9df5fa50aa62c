"""Print a rich table without cutting a name short, in a terminal of any width or a pipe.

Identifiers (queue, worker and schedule names, ids, times) are printed whole: a column
named ``whole`` is never narrower than its longest cell. Every other cell wraps rather than
ending in an ellipsis. A terminal too narrow for the whole table loses the ``drop`` columns
first, in that order, and says which. A pipe or a file gets the table at its own width,
however wide: no reader of a pipe wants it cut to 80 columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table

UNLIMITED = 100_000
FOLD_WIDTH = 8


def print_table(
    console: Console, table: Table, *, whole: Sequence[str] = (), drop: Sequence[str] = ()
) -> None:
    """Print ``table`` on ``console``; ``whole`` and ``drop`` name columns by header."""
    for column in table.columns:
        if column.header in whole:
            longest = max((_width(console, c) for c in [column.header, *column.cells]), default=1)
            column.min_width = longest
            column.no_wrap = True
        else:
            column.overflow = "fold"
    if not console.is_terminal:
        kept = console._width  # print() never renders wider than the console's own width
        console.width = max(_natural(console, table), console.width)
        try:
            console.print(table, crop=False)
        finally:
            console._width = kept
        return
    dropped = []
    for header in drop:
        if _least(console, table) <= console.width:
            break
        left = [c for c in table.columns if c.header != header]
        if len(left) < len(table.columns):
            dropped.append(header)
        table.columns = left
    if dropped:
        note = f"(not shown at this width: {', '.join(dropped)})"
        table.caption = f"{table.caption} {note}" if table.caption else note
        table.caption_justify = "left"
    console.print(table)


def _measure(console: Console, cell: RenderableType) -> Measurement:
    return Measurement.get(console, console.options.update(max_width=UNLIMITED), cell)


def _width(console: Console, cell: RenderableType) -> int:
    return _measure(console, cell).maximum


def _natural(console: Console, table: Table) -> int:
    """The table's width with nothing wrapped."""
    return _measure(console, table).maximum


def _least(console: Console, table: Table) -> int:
    """The narrowest the table can be with its whole columns whole and no other column
    folded narrower than its longest word or ``FOLD_WIDTH``."""
    _, right, _, left = table.padding
    total = table._extra_width
    for column in table.columns:
        words = max(_measure(console, c).minimum for c in [column.header, *column.cells])
        total += left + right + (column.min_width or min(words, FOLD_WIDTH))
    return total
