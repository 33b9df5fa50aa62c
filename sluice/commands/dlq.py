"""``sluice dlq ...``: inspect and safely replay dead letters, on AWS or on the sandbox."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Event
from typing import Annotated

import typer

from sluice.commands import dlq_view as render
from sluice.ops.dlq_replay import replay_dlq
from sluice.ops.errors import OpsError
from sluice.ops.filters import MessageFilter
from sluice.ops.ratelimit import parse_rate
from sluice.ops.replay import ReplayOptions
from sluice.runtime.errors import ConfigurationError
from sluice.target import Target, connect

dlq = typer.Typer(
    name="dlq",
    help=(
        "Inspect and replay dead letters: queue DLQs, SNS subscription DLQs and stream "
        "failures. Against AWS (default credentials) or the sandbox (--local)."
    ),
    no_args_is_help=True,
)

Local = Annotated[
    bool, typer.Option("--local", help="Use the running sandbox (`sluice up`), not AWS.")
]
Prefix = Annotated[
    str | None, typer.Option(help="Resource name prefix (default: sluice, or the sandbox's).")
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document, for scripts.")]
Name = Annotated[str, typer.Argument(help="A DLQ name from `sluice dlq ls`, or a worker name.")]
AuditLogPath = Annotated[
    Path | None,
    typer.Option("--audit-log", help="Audit file (default .sluice/replay-audit.jsonl)."),
]


def register(app: typer.Typer) -> None:
    """Mount ``sluice dlq`` on the root command."""
    app.add_typer(dlq, name="dlq")


@contextmanager
def _failing(as_json: bool) -> Iterator[None]:
    """Print a refusal as ``error: ...`` (and as JSON with --json) and exit 2."""
    try:
        yield
    except ConfigurationError as exc:
        if as_json:
            render.emit_json({"error": str(exc)})
        render.err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


failing = _failing  # the same refusal for every command with --json


def _target(local: bool, prefix: str | None) -> Target:
    return connect(local=local, prefix=prefix)


@dlq.command("ls")
def ls(local: Local = False, prefix: Prefix = None, json: Json = False) -> None:
    """List every DLQ with its depth, the age of its oldest message and its source."""
    from sluice.ops.inspect import list_dlqs

    with _failing(json):
        rows = list_dlqs(_target(local, prefix))
    render.emit_json(rows) if json else render.dlq_table(rows)


@dlq.command("show")
def show(
    name: Name,
    *,
    max: Annotated[int, typer.Option("--max", min=1, help="Messages to show.")] = 10,
    local: Local = False,
    prefix: Prefix = None,
    json: Json = False,
) -> None:
    """Peek at messages without consuming them: envelope, failure reason, receive history."""
    from sluice.ops.inspect import show as peek

    with _failing(json):
        rows = peek(_target(local, prefix), name, max)
    render.emit_json(rows) if json else render.messages_table(name, rows)


REPLAY_HELP = (
    "Send dead letters back to their queue (or --to a queue or topic): send first, delete "
    "after the send succeeded, append an audit line per message.\n\n"
    "Messages the filters skip stay in the DLQ and become visible again when the pass ends "
    "(or --hold seconds after a crash). Bodies that are not envelopes are skipped with the "
    "reason. FIFO groups keep their order, and the dedup id is derived from the DLQ message, "
    "so a repeated replay cannot double-send.\n\n"
    "A replay moves what the DLQ held when it began, each message once; one that enters "
    "during the run (a replayed message failing again) is left for the next run.\n\n"
    "Stream on-failure records are re-read from the stream and re-driven through their "
    "worker, with the same event ids; --from-table reloads the items instead. A notice "
    "naming another bucket than the stack's failure bucket, or a record naming another "
    "table's stream, is refused and left in the queue (exit 1).\n\n"
    "Ctrl-C stops between two calls: a send in flight is audited and deleted, what the replay "
    "still held is released at once, and the summary says interrupted (exit 130). A second "
    "Ctrl-C stops at once (held messages come back after --hold seconds)."
)


@dlq.command("replay", help=REPLAY_HELP)
def replay(
    name: Name,
    *,
    to: Annotated[
        str | None, typer.Option(help="Queue or topic (name, URL or ARN); default: the source.")
    ] = None,
    type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Event type; shell patterns such as `thing.*`; repeat."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Dead-lettered at or after: ISO time or 30m, 2h, 1d ago.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Dead-lettered at or before (same forms).")
    ] = None,
    id: Annotated[
        list[str] | None, typer.Option("--id", help="Envelope id or SQS message id; repeat.")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help='JMESPath on the envelope, e.g. "data.amount > `100`".'),
    ] = None,
    max: Annotated[int | None, typer.Option("--max", min=1, help="Move at most N.")] = None,
    rate: Annotated[str | None, typer.Option(help="At most N messages per second: 100/s.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print exactly what would move; move nothing.")
    ] = False,
    native: Annotated[
        bool,
        typer.Option("--native", help="Use SQS StartMessageMoveTask (real AWS, whole queue only)."),
    ] = False,
    from_table: Annotated[
        bool,
        typer.Option(
            "--from-table",
            help="Stream failures: re-emit the table's current items, not the stream's.",
        ),
    ] = False,
    hold: Annotated[
        int, typer.Option(min=1, help="Seconds a received message stays hidden if we crash.")
    ] = 30,
    audit_log: AuditLogPath = None,
    local: Local = False,
    prefix: Prefix = None,
    json: Json = False,
) -> None:
    """Send dead letters back (or --to elsewhere): send first, delete after, audit."""
    with _failing(json):
        options = ReplayOptions(
            to=to,
            filter=MessageFilter.build(
                types=type or (), since=since, until=until, ids=id or (), where=where
            ),
            limit=max,
            rate=parse_rate(rate),
            dry_run=dry_run,
            hold_s=hold,
            audit_path=audit_log,
        )
        target = _target(local, prefix)
        if native:
            from sluice.ops.native import native_move

            result = native_move(target, name, options)
            render.emit_json(result) if json else render.out.print(f"started {result}")
            return
        with render.Bar(f"replay {name}") if not json else _no_bar() as bar, _ctrl_c() as stop:
            report = replay_dlq(
                target, name, options, from_table=from_table, progress=bar, warn=_warn, stop=stop
            ).to_json()
    render.emit_json(report) if json else render.replay_summary(report)
    if report["interrupted"]:
        raise typer.Exit(130)
    if report["counts"]["failed"] or report["counts"]["refused"]:
        raise typer.Exit(1)


@contextmanager
def _ctrl_c() -> Iterator[Event]:
    """An event Ctrl-C sets (the replay stops between calls); a second Ctrl-C interrupts."""
    stop = Event()
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # started with Ctrl-C ignored (a background job): keep it so
        yield stop
        return

    def asked(*_: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, asked)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _warn(text: str) -> None:
    render.err.print(f"[yellow]warning:[/] {text}")


@contextmanager
def _no_bar() -> Iterator[None]:
    yield None


@dlq.command("export")
def export(
    name: Name,
    file: Annotated[Path, typer.Argument(help="JSONL file to append to.")],
    *,
    move: Annotated[
        bool, typer.Option("--move", help="Delete each message once written (drain).")
    ] = False,
    audit_log: AuditLogPath = None,
    local: Local = False,
    prefix: Prefix = None,
    json: Json = False,
) -> None:
    """Write every message to a JSONL file; the DLQ is left as it was unless --move."""
    from sluice.ops.export import export as dump

    with _failing(json):
        count = dump(_target(local, prefix), name, file, move=move, audit=audit_log)
    doc = {"dlq": name, "file": str(file), "exported": count, "moved": move}
    render.emit_json(doc) if json else render.out.print(
        f"{'moved' if move else 'exported'} {count} messages from {name} to {file}"
    )


IMPORT_HELP = (
    "Send exported messages to a queue or topic; malformed lines are skipped with the reason.\n\n"
    "Exit status: 0 when every line was sent; 1 when any line was skipped or failed to send "
    "(the others were sent: a partial import is a failure too, so a script notices); 2 when "
    "nothing could start (no such file, an unknown --to)."
)


@dlq.command("import", help=IMPORT_HELP)
def import_(
    file: Annotated[Path, typer.Argument(help="A JSONL file written by `sluice dlq export`.")],
    *,
    to: Annotated[str, typer.Option(help="Queue or topic to send to (name, URL or ARN).")],
    audit_log: AuditLogPath = None,
    local: Local = False,
    prefix: Prefix = None,
    json: Json = False,
) -> None:
    """Send exported messages to a queue or topic; malformed lines are skipped with the reason."""
    from sluice.ops.export import import_file

    with _failing(json):
        if not file.is_file():
            raise OpsError(f"{file} does not exist or is not a file")
        report = import_file(_target(local, prefix), file, to, audit=audit_log)
    doc = {
        "file": str(file),
        "destination": report.destination,
        "sent": report.sent,
        "skipped": report.skipped,
        "failed": report.failed,
    }
    if json:
        render.emit_json(doc)
    else:
        render.out.print(f"sent {report.sent} messages from {file} to {report.destination}")
        for row in report.skipped:
            render.out.print(f"  skipped line {row['line']}: {row['reason']}")
        for row in report.failed:
            render.out.print(f"  [red]failed[/] line {row['line']}: {row['reason']}")
    if report.failed or report.skipped:
        raise typer.Exit(1)


@dlq.command("purge")
def purge(
    name: Name,
    *,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Do not export the messages first.")
    ] = False,
    backup: Annotated[
        Path | None, typer.Option(help="Backup file (default .sluice/backups/<dlq>-<time>.jsonl).")
    ] = None,
    audit_log: AuditLogPath = None,
    local: Local = False,
    prefix: Prefix = None,
    json: Json = False,
) -> None:
    """Delete every message of a DLQ, after typed confirmation and a JSONL backup."""
    from sluice.ops.dlqs import find
    from sluice.ops.export import backup_path
    from sluice.ops.export import purge as drop

    with _failing(json):
        target = _target(local, prefix)
        dlq_name = find(target, name).dlq.name
        if not yes:
            typed = typer.prompt(f"This deletes every message of {dlq_name}. Type its name")
            if typed != dlq_name:
                raise OpsError(f"you typed {typed!r}, not {dlq_name!r}: nothing was deleted")
        where = None if no_backup else (backup or backup_path(dlq_name))
        count = drop(target, dlq_name, backup=where, audit=audit_log)
    doc = {"dlq": dlq_name, "purged": count, "backup": str(where) if where else None}
    render.emit_json(doc) if json else render.out.print(
        f"purged {count} messages from {dlq_name}" + (f"; backup in {where}" if where else "")
    )
