"""``sluice capacity``: where the declared pipeline breaks under a load, what moves it, and
what it costs; ``--simulate`` plays the load through the topology in time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sluice.app import App, load_app
from sluice.capacity.profile import Profile, parse_burst, parse_rates, parse_record_ms
from sluice.capacity.quotas import REGION
from sluice.runtime import ConfigurationError

HELP = "\n\n".join(
    (
        "Per hop of the declared pipeline: the load a profile offers, the limit (an AWS "
        "quota from the data file, or the declaration), utilisation and headroom; the first "
        "bottleneck and the knob that moves it; the cost per million events; each queue "
        "worker on Lambda vs Fargate with its break-even rate; what a burst leaves behind. "
        "Reads the app declaration only: no AWS account.",
        "Every quota and price comes from sluice/capacity/quotas.toml, each with the page it "
        "was read on; a result that depends on a figure the file could not cite shows '?'.",
        "Example: sluice capacity --rate 10000/s --hot-key 0.05 --burst 5x:60s",
        "--simulate plays the profile through the topology (SimPy): event source scaling, "
        "batching windows, concurrency caps, retries with the engine's backoff, DLQ redrive, "
        "partition throttling, the hot key and the burst. It prints backlog and latency "
        "percentiles over time and writes a PNG plot and a JSON summary; the same --seed "
        "gives the same run.",
    )
)


def capacity(
    rate: Annotated[
        list[str],
        typer.Option(
            "--rate",
            help="Events per unit of time at the entry (the API, else the streamed tables, "
            "else the topic), e.g. 10000/s; WORKER=RATE feeds a queue worker producers send "
            "to directly, e.g. ledger=300/s. Repeatable.",
        ),
    ],
    *,
    burst: Annotated[
        str | None, typer.Option(help="FACTORx:SECONDSs at the entry, e.g. 5x:60s.")
    ] = None,
    duplicates: Annotated[
        float, typer.Option(help="Extra deliveries per record (at-least-once), e.g. 0.1.")
    ] = 0.0,
    poison: Annotated[
        float, typer.Option(help="Share of records that fail permanently, e.g. 0.01.")
    ] = 0.0,
    hot_key: Annotated[
        float,
        typer.Option(help="Share of each writing worker's records on one partition key."),
    ] = 0.0,
    record_ms: Annotated[
        list[str] | None,
        typer.Option(
            "--record-ms",
            help="WORKER=MS per record (or api=MS), measured; otherwise assumed. Repeatable.",
        ),
    ] = None,
    event: Annotated[
        str | None,
        typer.Option(
            help="The event type the entry produces (default: the one most workers subscribe to)."
        ),
    ] = None,
    region: Annotated[str, typer.Option(help="Only us-east-1: the data file's prices.")] = REGION,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Also run the discrete-event simulation.")
    ] = False,
    seed: Annotated[int, typer.Option(help="--simulate: the random seed.")] = 1,
    duration: Annotated[
        float, typer.Option(min=1, help="--simulate: seconds of simulated time.")
    ] = 300.0,
    out: Annotated[
        Path, typer.Option(help="--simulate: where the PNG and the JSON summary go.")
    ] = Path("capacity"),
) -> None:
    """Where the pipeline breaks at a load, what moves it, and what it costs."""
    from sluice.capacity.report import analyse

    if region != REGION:
        raise ConfigurationError(
            f"--region {region!r}: the data file holds {REGION} prices only; use --region {REGION}"
        )
    entry, feeds = parse_rates(rate)
    factor, seconds = parse_burst(burst)
    profile = Profile(
        rate=entry,
        feeds=feeds,
        burst_factor=factor,
        burst_s=seconds,
        duplicates=duplicates,
        poison=poison,
        hot_key=hot_key,
        record_ms=parse_record_ms(record_ms or []),
        region=region,
        event=event,
    )
    app = load_app()
    report = analyse(app, profile)
    if not simulate:
        if as_json:
            typer.echo(json.dumps(report.to_json(), indent=2))
            return
        from sluice.capacity.render import show

        show(report, Console())
        return
    _simulate(app, profile, seed=seed, duration=duration, out=out, as_json=as_json)


def _simulate(
    app: App, profile: Profile, *, seed: int, duration: float, out: Path, as_json: bool
) -> None:
    from sluice.capacity.simulation import simulate
    from sluice.capacity.timeline import show_timeline, write_outputs

    result = simulate(app, profile, seed=seed, duration_s=duration)
    png, summary = write_outputs(result, out)
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
    else:
        show_timeline(result, Console())
    typer.echo(f"wrote {png} and {summary}")


def register(app: typer.Typer) -> None:
    """Mount ``sluice capacity``."""
    app.command(help=HELP)(capacity)
