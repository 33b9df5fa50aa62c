"""``sluice top``: a live view of every worker, from the sandbox or from AWS."""

from sluice.tools.top.rows import Depth, Figures, Snapshot, WorkerRow
from sluice.tools.top.watch import Watcher, aws_watcher, local_watcher

__all__ = ["Depth", "Figures", "Snapshot", "Watcher", "WorkerRow", "aws_watcher", "local_watcher"]
