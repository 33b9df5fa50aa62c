"""How ``sluice dlq`` prints: rich tables for people, one JSON document for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sluice.tools.tables import print_table

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def emit_json(doc: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(doc, indent=2, default=str))


def dlq_table(rows: list[dict[str, Any]]) -> None:
    """``sluice dlq ls``."""
    table = Table(title="Dead-letter queues")
    columns = ("DLQ", "kind", "source", "runs on", "depth", "in flight", "oldest", "replayable")
    for column in columns:
        table.add_column(column, justify="right" if column in ("depth", "in flight") else "left")
    for row in rows:
        if not row["exists"]:
            table.add_row(
                row["name"],
                row["kind"],
                row["source"],
                row["runtime"],
                "[red]missing[/]",
                "",
                "",
                "",
            )
            continue
        depth = str(row["depth"])
        table.add_row(
            row["name"],
            row["kind"],
            row["source"],
            row["runtime"],
            f"[bold red]{depth}[/]" if row["depth"] else depth,
            str(row["in_flight"]),
            _age(row["oldest_age_s"]),
            _replayable(row),
        )
    print_table(
        out,
        table,
        whole=("DLQ", "source"),
        drop=("runs on", "in flight", "replayable", "kind", "source"),
    )


def _replayable(row: dict[str, Any]) -> str:
    """How long a stream failure stays replayable, and from where (the bucket is in --json)."""
    via = row.get("replayable_via")
    if via is None:
        return ""
    if via == "stream":
        return f"{_age(row['replayable_s'])} (stream)"
    if row["replayable_s"] is None:
        return "until deleted (S3)"
    basis = ", default" if row["replayable_basis"] == "default" else ""
    return f"{_age(row['replayable_s'])} (S3{basis})"


def messages_table(name: str, rows: list[dict[str, Any]]) -> None:
    """``sluice dlq show``."""
    if not rows:
        out.print(f"{name} is empty")
        return
    for row in rows:
        stream, named = row.get("stream"), row.get("failure_object")
        if stream:
            out.print(
                f"[bold]{row['message_id']}[/] stream failure ({stream['condition'] or '-'}) "
                f"shard {stream['shard_id']} sequences {stream['start_sequence']}.."
                f"{stream['end_sequence']} ({stream['batch_size']} records, "
                f"{stream['first_arrival']} .. {stream['last_arrival']})"
            )
        if named:
            held = "" if not stream else f", holds {stream['records'] or 0} records"
            out.print(f"    s3://{named['bucket']}/{named['key']}{held}")
        if named and row["problem"]:
            out.print(f"    [red]{row['problem']}[/]")
        if stream or named:
            continue
        what = (
            f"{row['type']} v{row['version']} id={row['envelope_id']} "
            f"correlation={row['correlation_id']}"
            if row["envelope_id"]
            else f"[red]not an envelope[/]: {row['problem']}"
        )
        out.print(f"[bold]{row['message_id']}[/] {what}")
        out.print(
            f"    reason={row['reason'] or '-'} worker={row['failed_worker'] or '-'} "
            f"{_history(row)}" + (f" group={row['group_id']}" if row["group_id"] else "")
        )
        if row["detail"]:
            out.print(f"    detail: {row['detail']}")


def _history(row: dict[str, Any]) -> str:
    """What is known of a message's receives: the worker's count and when it dead-lettered
    the message; for one SQS's redrive moved, SQS's own count (peeks included) and its send."""
    if row["receive_count"] is not None or row["dead_lettered_at"]:
        return (
            f"receives={row['receive_count'] if row['receive_count'] is not None else '-'} "
            f"dead-lettered={row['dead_lettered_at'] or '-'}"
        )
    return (
        f"receives~{row['sqs_receive_count']} (SQS's count, peeks included) "
        f"sent={row['sent_at'] or '-'}"
    )


def replay_summary(report: dict[str, Any]) -> None:
    """The end of ``sluice dlq replay``: what moved, what was skipped and why, what failed."""
    counts = report["counts"]
    verb = "would move" if report["dry_run"] else "moved"
    if report["dry_run"]:
        for row in report["moved"]:
            out.print(
                f"would move {row['message_id']} ({row.get('type') or '-'} "
                f"{row.get('envelope_id') or ''}) -> {report['destination']}"
            )
    out.print(
        f"{report['source']} -> {report['destination']}: {verb} {counts['moved']}, "
        f"skipped by filter {counts['skipped_by_filter']}, skipped {counts['skipped']}, "
        f"failed {counts['failed']}, refused {counts['refused']}"
        + (", interrupted" if report.get("interrupted") else "")
    )
    for row in report["skipped"]:
        out.print(f"  skipped {row.get('message_id') or row.get('line')}: {row['reason']}")
    for row in report["failed"]:
        out.print(f"  [red]failed[/] {row.get('message_id') or row.get('line')}: {row['reason']}")
    for row in report["refused"]:
        out.print(f"  [red]refused[/] {row['message_id']}: {row['reason']}")
    if report["entered_during_replay"]:
        out.print(
            f"  {report['entered_during_replay']} messages entered the DLQ during the replay "
            "(replayed ones that failed again, or new failures): left for the next run"
        )


class Bar:
    """A rich progress bar on stderr, fed by the replay: drawn from ``start``, once the replay
    checked its DLQ and destination, so a refusal prints its error and nothing else."""

    def __init__(self, label: str) -> None:
        self._progress = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=None)

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress.live.is_started:
            self._progress.stop()

    def start(self, total: int) -> None:
        """The approximate number of messages; the bar appears."""
        self._progress.update(self._task, total=max(total, 1))
        self._progress.start()

    def advance(self, count: int) -> None:
        """``count`` more messages looked at."""
        self._progress.advance(self._task, count)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f}h".replace(".0h", "h")
    return f"{seconds / 86400:.1f}d".replace(".0d", "d")
