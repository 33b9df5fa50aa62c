"""``sluice schedule ...``: the app's schedules, their next fire times, and firing one now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from sluice.app import load_app
from sluice.commands.dlq import Json, Local, Prefix, failing
from sluice.commands.dlq_view import emit_json, err, out
from sluice.runtime.errors import ConfigurationError
from sluice.target import SandboxState, connect, state_dir
from sluice.tools.tables import print_table
from sluice.topology import Topology

schedule = typer.Typer(
    name="schedule",
    help=(
        "The app's scheduled events (App(schedules=...)): when each fires next, and firing "
        "one now. On AWS EventBridge Scheduler fires them; in the sandbox, `sluice up` does."
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Mount ``sluice schedule`` on the root command."""
    app.add_typer(schedule, name="schedule")


@schedule.command("ls")
def ls(
    local: Annotated[
        bool, typer.Option("--local", help="Also show the sandbox's last fired slot.")
    ] = False,
    prefix: Prefix = None,
    count: Annotated[int, typer.Option(min=1, max=50, help="How many fire times.")] = 3,
    json: Json = False,
) -> None:
    """Every schedule: expression, time zone, target, DLQ and its next fire times."""
    from sluice.local.scheduler import FIRED_BY_HAND_FILE, STATE_FILE, SlotLog

    app = load_app()
    fired = SlotLog(state_dir() / STATE_FILE) if local else None
    by_hand = SlotLog(state_dir() / FIRED_BY_HAND_FILE) if local else None
    if local:
        with failing(json):
            prefix = prefix or SandboxState.load().prefix
    topology = Topology(app, prefix)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for item in app.schedules:
        upcoming: list[str] = []
        moment = item.next_fire(now)
        while moment is not None and len(upcoming) < count:
            upcoming.append(moment.isoformat())
            moment = item.next_fire(moment)
        last = fired.last(item.name) if fired is not None else None
        manual = by_hand.last(item.name) if by_hand is not None else None
        rows.append(
            {
                "name": item.name,
                "expression": item.expression,
                "timezone": item.timezone,
                "event_type": item.event_type,
                "target": topology.schedule_target(item),
                "dlq": topology.schedule_dlq(item),
                "next": upcoming,
                "last_fired": last.isoformat() if last else None,
                "last_fired_by_hand": manual.isoformat() if manual else None,
            }
        )
    if json:
        emit_json(rows)
        return
    if not rows:
        out.print("no schedules: declare them in App(schedules=(Schedule(...),))")
        return
    table = Table(title="Schedules")
    for column in ("schedule", "expression", "zone", "event", "target", "next fires"):
        table.add_column(column)
    if local:
        table.add_column("last fired (sandbox)")
    for row in rows:
        cells = [row["name"], row["expression"], row["timezone"], row["event_type"]]
        cells += [row["target"], "\n".join(map(_short, row["next"])) or "[red]never[/]"]
        if local:
            by_scheduler, by_fire = row["last_fired"], row["last_fired_by_hand"]
            lines = [_short(by_scheduler)] if by_scheduler else []
            lines += [f"{_short(by_fire)} (fire)"] if by_fire else []
            cells.append("\n".join(lines) or "-")
        table.add_row(*cells)
    print_table(
        out,
        table,
        whole=("schedule", "event", "target", "next fires", "last fired (sandbox)"),
        drop=("zone", "expression", "event", "target"),
    )


@schedule.command("fire")
def fire_(
    name: Annotated[str, typer.Argument(help="A schedule name from `sluice schedule ls`.")],
    local: Local = False,
    prefix: Prefix = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="Fire this slot (ISO 8601, e.g. 2026-12-01T01:00:00Z) instead of now: the "
            "same slot gives the same envelope id, so the workers absorb a repeat."
        ),
    ] = None,
    json: Json = False,
) -> None:
    """Fire one slot of a schedule now: the same request EventBridge Scheduler sends."""
    from sluice.local.scheduler import FIRED_BY_HAND_FILE, SlotLog, fire

    with failing(json):
        target = connect(local=local, prefix=prefix)
        item = target.topology.app.schedule(name)
        slot = _slot(at)
        topic = target.topology.topic

        def address(resource: str) -> str:
            return target.topic_arn() if resource == topic else target.queue_url(resource)

        done = fire(target.clients, target.topology, item, slot, address)
    if local and done.error is None:
        SlotLog(state_dir() / FIRED_BY_HAND_FILE).record(item.name, slot)
    doc = {
        "schedule": done.schedule,
        "slot": done.slot,
        "event_id": done.event_id,
        "target": done.target,
        "message_id": done.message_id,
        "error": done.error,
    }
    if json:
        emit_json(doc)
    elif done.error is None:
        out.print(f"fired {done.schedule} slot {done.slot} as {done.event_id} -> {done.target}")
    else:
        err.print(
            f"[red]dead-lettered[/] {done.schedule} slot {done.slot}: {done.error} "
            f"(see `sluice dlq show {target.topology.schedule_dlq(item)}`)"
        )
    if done.error is not None:
        raise typer.Exit(1)


def _short(moment: str) -> str:
    """An ISO time as the table shows it: ``2026-12-08 02:00+01:00``, ``... 01:00:05Z``."""
    parsed = datetime.fromisoformat(moment)
    text = parsed.isoformat(sep=" ", timespec="seconds" if parsed.second else "minutes")
    return text.replace("+00:00", "Z")


def _slot(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise ConfigurationError(
            f"--at {at!r} is not an ISO 8601 time (e.g. 2026-12-01T01:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
