"""The capacity answer as rich tables and lines (``sluice capacity`` prints them)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from sluice.capacity.fixes import Plan
from sluice.capacity.knobs import Scenario, knobs
from sluice.capacity.model import TARGET, Hop
from sluice.capacity.report import Report
from sluice.tools.tables import print_table


def show(report: Report, console: Console) -> None:
    """Print the whole answer."""
    profile, flow = report.profile, report.flow
    console.print(
        f"[bold]{profile.rate:,.0f} events/s[/] at the {flow.entry}"
        + (f" ({flow.event})" if flow.event else "")
        + f", {profile.region}; duplicates {profile.duplicates:g}, poison {profile.poison:g}, "
        f"hot key {profile.hot_text}"
    )
    _hops(report, console)
    _bottleneck(report, console)
    _costs(report, console)
    _placements(report, console)
    _burst(report, console)
    _caveats(report, console)


def _hops(report: Report, console: Console) -> None:
    table = Table(title="per hop", title_justify="left")
    for column in ("hop", "offered", "limit", "use", "headroom", "knob"):
        table.add_column(column, justify="left" if column in ("hop", "knob") else "right")
    for hop in report.hops:
        use = hop.utilisation
        style = "red" if use is not None and use > 1 else None
        table.add_row(
            hop.name,
            f"{hop.offered:,.0f} {hop.unit}",
            "?" if hop.limit is None else f"{hop.limit:,.0f}",
            "?" if use is None else f"{use:.0%}",
            "?" if hop.headroom is None else f"{hop.headroom:,.0f}",
            hop.knob,
            style=style,
        )
    print_table(console, table, whole=("hop",), drop=("knob", "headroom"))


def _bottleneck(report: Report, console: Console) -> None:
    top = report.bottleneck
    if top is None:
        console.print("no hop has a known limit")
        return
    at, use = report.saturates_at(top), top.utilisation or 0.0
    move = f"{top.fix}{_try(top)}" if use > TARGET else "at or under the target, nothing to change"
    console.print(
        f"[bold]first bottleneck:[/] {top.name}, at {_rate(at)} events/s "
        f"({use:.0%} of its limit here). Knob: {top.knob}: {move}"
    )
    after = [h for h in report.ranked[1:] if (h.utilisation or 0) > 1]
    for hop in after:
        console.print(
            f"  then {hop.name} at {_rate(report.saturates_at(hop))} events/s: {hop.fix}{_try(hop)}"
        )
    if after or (top.utilisation or 0) >= 1:
        console.print("  (--fix applies them all; --knobs lists every knob)")


def _try(hop: Hop) -> str:
    """The hop's fix as --set options."""
    flags = " ".join(f"--set {knob}={value:g}" for knob, value in hop.changes)
    return f" [dim](try {flags})[/]" if flags else ""


def show_plan(plan: Plan, console: Console) -> None:
    """What --fix changed, hop by hop, as a table and as the --set options that redo it."""
    table = Table(title="--fix: changes applied, hop by hop", title_justify="left")
    for column in ("knob", "from", "to", "for hop"):
        table.add_column(column, justify="right" if column in ("from", "to") else "left")
    for step in plan.steps:
        table.add_row(step.knob, step.before, step.after, step.hop)
    if plan.steps:
        print_table(console, table, whole=("knob",), drop=("for hop",))
        console.print("the same by hand: " + " ".join(step.flag for step in plan.steps))
    else:
        console.print("--fix: no hop is at or over its limit; nothing to change")
    for hop in plan.left:
        why = hop.fix or f"its limit is not in the data file ({', '.join(hop.unfound)})"
        console.print(f"[red]still at or over its limit:[/] {hop.name}: {why}")


def show_knobs(scenario: Scenario, console: Console) -> None:
    """Every knob of the app and its value today (--knobs)."""
    table = Table(title="knobs (--set NAME.SETTING=VALUE)", title_justify="left")
    for column in ("knob", "today", "what"):
        table.add_column(column, justify="right" if column == "today" else "left")
    for knob in knobs(scenario):
        table.add_row(knob.name, knob.today, knob.what)
    print_table(console, table, whole=("knob",), drop=("what",))


def _costs(report: Report, console: Console) -> None:
    table = Table(title="cost per million events (us-east-1 list prices)", title_justify="left")
    for column in ("hop", "USD", "what"):
        table.add_column(column, justify="right" if column == "USD" else "left")
    for cost in report.costs:
        mark = " ?" if cost.unfound else ""
        table.add_row(cost.hop, f"{cost.usd:.3f}{mark}", cost.detail)
    table.add_row("total", f"{report.total_usd:.2f}", "", style="bold")
    print_table(console, table, whole=("hop",), drop=("what",))


def _placements(report: Report, console: Console) -> None:
    if not report.placements:
        return
    table = Table(title="each queue worker on Lambda or on Fargate", title_justify="left")
    for column in ("worker", "Lambda $/M", "Fargate $/M", "tasks", "break-even"):
        table.add_column(column, justify="left" if column == "worker" else "right")
    for place in report.placements:
        crossing = (
            f"above {place.break_even:,.0f} rec/s"
            if place.break_even is not None
            else f"never (a task would need {place.task_break_even:,.0f} rec/s)"
        )
        table.add_row(
            place.worker,
            f"{place.lambda_usd:.3f}",
            f"{place.fargate_usd:.3f}",
            str(place.tasks),
            crossing,
        )
    print_table(console, table, whole=("worker",))


def _burst(report: Report, console: Console) -> None:
    profile = report.profile
    if not profile.burst_s:
        return
    console.print(
        f"[bold]burst[/] {profile.burst_factor:g}x for {profile.burst_s:g} s "
        f"({profile.burst_rate:,.0f} events/s):"
    )
    if not report.burst:
        console.print("  every hop holds it")
    for effect in report.burst:
        drain = (
            "and never clears at the steady rate (over its limit there too)"
            if effect.drain_s is None
            else f"cleared {effect.drain_s:,.0f} s after the burst"
        )
        if effect.unit == "req":  # API Gateway answers 429: refused, not queued
            console.print(f"  {effect.hop}: {effect.backlog:,.0f} requests refused (429)")
            continue
        console.print(f"  {effect.hop}: {effect.backlog:,.0f} {effect.unit} behind, {drain}")


def _caveats(report: Report, console: Console) -> None:
    if report.assumed_ms:
        console.print(
            f"assumed per-record times for {', '.join(report.assumed_ms)} "
            "(pass --record-ms NAME=MS with measured ones)"
        )
    if report.unfound:
        console.print(
            f"? = depends on figures the data file could not cite: {', '.join(report.unfound)}"
        )


def _rate(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:,.0f}"
