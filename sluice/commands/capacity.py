"""``sluice capacity``: where the declared pipeline breaks under a load, what moves it, and
what it costs; ``--simulate`` plays the load through the topology in time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from sluice.app import load_app
from sluice.capacity.knobs import Scenario, apply, parse_sets
from sluice.capacity.profile import (
    Profile,
    parse_burst,
    parse_hot_keys,
    parse_rates,
    parse_record_ms,
)
from sluice.capacity.quotas import REGION, load
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
        "What if: --set NAME.SETTING=VALUE changes a knob before the model (and the "
        "simulation) read it: api.rate and api.burst (the API stage's throttle), aws.ENTRY "
        "(any figure of the data file: a quota raise, e.g. aws.lambda_concurrency=3000), "
        "TABLE.write_quota and TABLE.read_quota, WORKER.SETTING (a worker's declared "
        "max_invocations, batch_size, max_concurrency, parallelization, max_tasks, "
        "min_tasks, throughput, runtime...) and WORKER.key_shards (its hot key spread over "
        "N key suffixes). --knobs lists every knob of this app with today's value. --fix "
        "applies every hop's suggested change until none is at or over its limit, and "
        "prints the plan as --set options.",
        "--simulate plays the profile through the topology (SimPy): event source scaling, "
        "batching windows, concurrency caps, retries with the engine's backoff, DLQ redrive, "
        "partition throttling, the hot key and the burst. It prints backlog and latency "
        "percentiles over time and writes a PNG plot and a JSON summary; the same --seed "
        "gives the same run.",
    )
)


def capacity(
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--rate",
            help="Events per unit of time at the entry (the API, else the streamed tables, "
            "else the topic), e.g. 10000/s; WORKER=RATE feeds a queue worker producers send "
            "to directly, e.g. ledger=300/s. Repeatable.",
        ),
    ] = None,
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
        list[str] | None,
        typer.Option(
            "--hot-key",
            help="Share of records on one partition key: 0.05 for every writing worker, "
            "or NAME=0.05 for one worker, or for every worker writing one table. Repeatable.",
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="NAME.SETTING=VALUE: a knob changed before the model reads it, e.g. "
            "inventory.max_invocations=63, api.rate=12500, state.write_quota=75000, "
            "aws.lambda_concurrency=3000. Repeatable; --knobs lists them.",
        ),
    ] = None,
    fix: Annotated[
        bool,
        typer.Option("--fix", help="Apply every suggested change until no hop is over its limit."),
    ] = False,
    list_knobs: Annotated[
        bool, typer.Option("--knobs", help="List every knob of this app and its value.")
    ] = False,
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
    if not rate and not list_knobs:
        raise ConfigurationError("--rate is required, e.g. --rate 10000/s")
    entry, feeds = parse_rates(rate or ["1/s"])
    factor, seconds = parse_burst(burst)
    every, named = parse_hot_keys(hot_key or [])
    profile = Profile(
        rate=entry,
        feeds=feeds,
        burst_factor=factor,
        burst_s=seconds,
        duplicates=duplicates,
        poison=poison,
        hot_key=every,
        hot_keys=named,
        record_ms=parse_record_ms(record_ms or []),
        region=region,
        event=event,
    )
    scenario = apply(Scenario(load_app(), load(), profile), parse_sets(sets or []))
    from sluice.capacity.render import show, show_knobs, show_plan

    if list_knobs:
        show_knobs(scenario, Console())
        return
    plan = None
    if fix:
        from sluice.capacity.fixes import fix as fixed

        plan = fixed(scenario)
        scenario = plan.scenario
    report = analyse(scenario.app, scenario.profile, scenario.quotas)
    if not simulate:
        if as_json:
            doc = report.to_json()
            if plan is not None:
                doc["fix"] = plan.to_json()
            typer.echo(json.dumps(doc, indent=2))
            return
        console = Console()
        if plan is not None:
            show_plan(plan, console)
        show(report, console)
        return
    if plan is not None and not as_json:
        show_plan(plan, Console())
    _simulate(scenario, seed=seed, duration=duration, out=out, as_json=as_json)


def _simulate(scenario: Scenario, *, seed: int, duration: float, out: Path, as_json: bool) -> None:
    from sluice.capacity.simulation import simulate
    from sluice.capacity.timeline import show_timeline, write_outputs

    result = simulate(
        scenario.app,
        scenario.profile,
        seed=seed,
        duration_s=duration,
        quotas=scenario.quotas,
    )
    png, summary = write_outputs(result, out)
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
    else:
        show_timeline(result, Console())
    typer.echo(f"wrote {png} and {summary}", err=as_json)  # --json: stdout is JSON only


def register(app: typer.Typer) -> None:
    """Mount ``sluice capacity``."""
    app.command(help=HELP)(capacity)
