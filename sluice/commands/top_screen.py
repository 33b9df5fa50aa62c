"""The live ``sluice top`` screen (Textual): the workers' table and, below, what was asked for."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from sluice.commands import dlq_view as render
from sluice.ops.dlq_replay import replay_dlq
from sluice.ops.inspect import show
from sluice.ops.replay import ReplayOptions
from sluice.tools.top import Snapshot, Watcher
from sluice.tools.top.view import LABELS, LEGEND, cells, fitting, title

SHOW_MAX = 5


class TopScreen(App[None]):
    """Refreshes every ``interval_s``; enter and ``r`` act on the selected worker's DLQ."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "preview", "replay preview (dry run)"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, watcher: Watcher, interval_s: float) -> None:
        super().__init__()
        self.watcher = watcher
        self.interval_s = interval_s
        self._busy = False
        self._keys: list[str] = []
        self._last: Snapshot | None = None
        self._width = 0

    def compose(self) -> ComposeResult:
        """The table, the detail pane and the key help."""
        yield Header()
        # The worker column stays put when scrolling right; a red cell stays red when
        # its row is selected (the cursor colours the background only).
        yield DataTable(
            cursor_type="row",
            zebra_stripes=False,
            fixed_columns=1,
            cursor_foreground_priority="renderable",
            id="workers",
        )
        yield Static(
            f"{LEGEND}\nselect a worker: enter shows its dead letters, r previews a replay",
            id="detail",
        )
        yield Footer()

    def on_mount(self) -> None:
        """A refresh now and every interval (the columns come with the first snapshot)."""
        self.tick()
        self.set_interval(self.interval_s, self.tick)

    def tick(self) -> None:
        """Start a refresh, unless the last one is still reading (a slow endpoint)."""
        if not self._busy:
            self._busy = True
            self._poll()

    @work(thread=True, group="poll")
    def _poll(self) -> None:
        """Take a snapshot off the UI thread."""
        try:
            snapshot = self.watcher.snapshot()
        except Exception as exc:  # a failed refresh shows, and the next one tries again
            self.call_from_thread(self._say, f"[red]refresh failed:[/] {exc}")
            return
        finally:
            self._busy = False
        self.call_from_thread(self._show, snapshot)

    def on_resize(self, event: events.Resize) -> None:
        """Another width may fit other columns."""
        self._width = event.size.width
        if self._last is not None:
            self._show(self._last)

    def _show(self, snapshot: Snapshot) -> None:
        self._last = snapshot
        grid = self.query_one(DataTable)
        self.title = title(snapshot)
        by_worker = {row.worker: cells(row) for row in snapshot.rows}
        keys = fitting(list(by_worker.values()), self._width or self.screen.size.width)
        if keys != self._keys:  # the first snapshot, or a width that fits other columns
            selected = grid.cursor_row
            grid.clear(columns=True)
            for key in keys:
                grid.add_column(LABELS[key], key=key)
            self._keys = keys
            for worker, by_key in by_worker.items():
                grid.add_row(*(by_key[key] for key in keys), key=worker)
            grid.move_cursor(row=selected)
            return
        for worker, by_key in by_worker.items():
            if worker not in grid.rows:
                grid.add_row(*(by_key[key] for key in keys), key=worker)
                continue
            for key in keys:
                grid.update_cell(worker, key, by_key[key])

    def _selected(self) -> str | None:
        grid = self.query_one(DataTable)
        if not grid.row_count:
            return None
        return str(grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value)

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        """Enter on a worker: its dead letters."""
        self.action_reasons()

    def action_reasons(self) -> None:
        """The selected worker's newest dead letters, as ``sluice dlq show`` prints them."""
        if worker := self._selected():
            self._say(f"reading the DLQ of {worker} ...")
            self._run(worker, preview=False)

    def action_preview(self) -> None:
        """What ``sluice dlq replay --dry-run`` would move for the selected worker."""
        if worker := self._selected():
            self._say(f"dry run of a replay of {worker}'s DLQ ...")
            self._run(worker, preview=True)

    @work(thread=True, exclusive=True, group="detail")
    def _run(self, worker: str, preview: bool) -> None:
        target = self.watcher.target
        try:
            name = target.topology.dlq(worker).name
            with render.out.capture() as captured:
                if preview:
                    report = replay_dlq(target, name, ReplayOptions(dry_run=True))
                    render.replay_summary(report.to_json())
                else:
                    render.messages_table(name, show(target, name, SHOW_MAX))
        except Exception as exc:
            self.call_from_thread(self._say, f"[red]{worker}:[/] {exc}")
            return
        self.call_from_thread(self._say, captured.get(), markup=False)

    def _say(self, text: Any, markup: bool = True) -> None:
        self.query_one("#detail", Static).update(text if markup else Text.from_ansi(text))
