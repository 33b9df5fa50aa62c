"""``sluice publish``: send envelopes to the events topic or a queue, batched and retried."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sluice.app import load_app
from sluice.core import Catalog, ContractError, Envelope
from sluice.publisher import Publisher, PublisherError, PublishResult
from sluice.runtime import ConfigurationError
from sluice.target import Target, connect

SOURCE = "sluice.cli"
HELP = """Publish envelopes to the events topic (default) or to a queue, 10 per call.

Input is a JSON envelope, a JSON array of them, or JSON Lines, from FILE or stdin (`-`).
With --type, each document is the `data` of a new envelope of that type instead; with
--type and --data, one envelope is built from the command line. Every envelope is checked
against the event catalog before anything is sent. FIFO queues get their MessageGroupId
from the data field the consuming worker declares (`group_by`), or from --group-by.

Exit status: 0 if everything was published, 1 if some envelopes failed after retries,
2 if nothing was sent (bad input or configuration).

\b
Examples:
  sluice publish --local --type thing.happened --data '{"thing_id": "t-1", ...}'
  sluice publish --local envelopes.jsonl
  cat data.jsonl | sluice publish --to sluice-WORKER.fifo --type thing.happened -
"""


def register(app: typer.Typer) -> None:
    """Mount ``sluice publish`` on the root command."""
    app.command("publish", help=HELP)(publish)


def publish(
    file: Annotated[
        Path | None, typer.Argument(help="JSON or JSON Lines file; `-` reads stdin.")
    ] = None,
    *,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Build envelopes of this event type.")
    ] = None,
    data: Annotated[str | None, typer.Option(help="The data (JSON) of one envelope.")] = None,
    to: Annotated[
        str | None, typer.Option(help="A queue name (e.g. sluice-WORKER.fifo) or a topic ARN.")
    ] = None,
    group_by: Annotated[
        str | None, typer.Option(help="FIFO: the data field to use as MessageGroupId.")
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option(help="Correlation id for envelopes built here.")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Use the running sandbox (`sluice up`), not AWS.")
    ] = False,
    prefix: Annotated[
        str | None, typer.Option(help="Resource name prefix (default: sluice).")
    ] = None,
) -> None:
    """Publish envelopes and print what was sent and what failed."""
    try:
        app = load_app()
        envelopes = _envelopes(_documents(file, data), app.catalog, event_type, correlation_id)
        target = connect(local=local, prefix=prefix, app=app)
        publisher, where = _publisher(target, to, group_by, envelopes)
        result = publisher.publish(envelopes)
    except (ConfigurationError, PublisherError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _summary(result, f"{where} on {target.where}")
    if result.failed:
        raise typer.Exit(1)


def _documents(file: Path | None, data: str | None) -> list[tuple[str, Any]]:
    """Each input document with where it came from (for error messages)."""
    if data is not None:
        if file is not None:
            raise ValueError("give either FILE or --data, not both")
        return [("--data", _parse(data, "--data"))]
    if file is None:
        raise ValueError("nothing to publish: give a FILE, `-` for stdin, or --type and --data")
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    stripped = text.strip()
    if not stripped:
        raise ValueError("the input is empty")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        lines = enumerate(text.splitlines(), start=1)
        return [(f"line {n}", _parse(line, f"line {n}")) for n, line in lines if line.strip()]
    if isinstance(whole, list):
        return [(f"item {n}", doc) for n, doc in enumerate(whole, start=1)]
    return [("input", whole)]


def _parse(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON: {exc}") from None


def _envelopes(
    documents: list[tuple[str, Any]],
    catalog: Catalog,
    event_type: str | None,
    correlation_id: str | None,
) -> list[Envelope[Any]]:
    """Checked envelopes, or a ValueError listing every problem (nothing is sent)."""
    found: list[Envelope[Any]] = []
    problems: list[str] = []
    for where, doc in documents:
        try:
            if event_type is None and not isinstance(doc, dict):
                problems.append(f"{where}: an envelope is a JSON object (or use --type)")
                continue
            if event_type is None:
                found.append(catalog.decode(doc))
                continue
            version = catalog.latest(event_type)
            built = Envelope.new(
                event_type, doc, source=SOURCE, version=version, correlation_id=correlation_id
            )
            found.append(catalog.validate(built))
        except ContractError as exc:
            problems.append(f"{where}: {exc.detail}")
    if problems:
        raise ValueError("nothing was sent:\n  " + "\n  ".join(problems))
    return found


def _publisher(
    target: Target, to: str | None, group_by: str | None, envelopes: list[Envelope[Any]]
) -> tuple[Publisher, str]:
    """The publisher for the destination, with FIFO grouping from the registry or --group-by."""
    if to is None or to.startswith("arn:aws:sns:"):
        arn = to or target.topic_arn()
        return Publisher.to_topic(target.clients.sns, arn), f"topic {arn.rsplit(':', 1)[-1]}"
    url = target.queue_url(to)
    types = {e.type for e in envelopes}
    fields = {t: group_by for t in types} if group_by else _declared_groups(target, to)
    return Publisher.to_queue(target.clients.sqs, url, group_by=fields), f"queue {to}"


def _declared_groups(target: Target, queue: str) -> dict[str, str]:
    """``{event type: data field}`` from the FIFO worker that consumes ``queue``."""
    for spec in target.topology.registry.specs:
        if spec.source.is_fifo and target.topology.queues(spec).queue == queue and spec.group_by:
            types = spec.subscribes or target.topology.app.catalog.types
            return dict.fromkeys(types, spec.group_by)
    return {}


def _summary(result: PublishResult, where: str) -> None:
    ok = typer.colors.GREEN if result.ok else typer.colors.YELLOW
    typer.secho(
        f"published {len(result.sent)} of {result.total} envelope(s) to {where} "
        f"in {result.calls} call(s)",
        fg=ok,
    )
    for failure in result.failed:
        typer.secho(
            f"  failed {failure.envelope_id}: {failure.code} {failure.message} "
            f"(after {failure.attempts} tries)",
            fg=typer.colors.RED,
            err=True,
        )
