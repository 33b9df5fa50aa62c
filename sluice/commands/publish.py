"""``sluice publish``: send envelopes to the events topic or a queue, batched and retried."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
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

Input is a JSON envelope, a JSON array of them, or JSON Lines, from FILE or
stdin (`-`). An envelope needs only "type" and "data"; what it leaves out is
filled in: "id" (a new UUID), "time" (now), "correlation_id"
(--correlation-id, else the id), "causation_id" (null), "source"
(sluice.cli) and "version" (--version, else the newest the catalog knows).
With --type, each document is the `data` of a new envelope of that type
instead; with --type and --data, one envelope is built from the command
line. Every envelope is checked against the event catalog before anything is
sent. FIFO queues get their MessageGroupId from the data field the consuming
worker declares (`group_by`), or from --group-by.

Exit status: 0 if everything was published, 1 if some envelopes failed after
retries, 2 if nothing was sent (bad input or configuration).

\b
Examples:
  sluice publish --local --type thing.happened --data '{"thing_id": "t-1"}'
  sluice publish --local --type thing.happened --version 1 --data '{...}'
  echo '{"type": "thing.happened", "data": {...}}' | sluice publish --local -
  sluice publish --local envelopes.jsonl
  cat data.jsonl | sluice publish --to PREFIX-W.fifo --type thing.happened -
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
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            min=1,
            help="The version of envelopes built or completed here (default: the newest the "
            "catalog knows).",
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="A queue name (e.g. PREFIX-WORKER.fifo) or a topic ARN."),
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
        str | None,
        typer.Option(
            help="Resource name prefix (default: the running sandbox's with --local, else the "
            "app's, as `make synth` deploys it)."
        ),
    ] = None,
) -> None:
    """Publish envelopes and print what was sent and what failed."""
    try:
        app = load_app()
        built = Built(app.catalog, event_type, version, correlation_id)
        envelopes = built.envelopes(_documents(file, data))
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


@dataclass(frozen=True)
class Built:
    """How input documents become envelopes: whole or partial envelopes, or data of --type."""

    catalog: Catalog
    event_type: str | None
    version: int | None
    correlation_id: str | None

    def envelopes(self, documents: list[tuple[str, Any]]) -> list[Envelope[Any]]:
        """Checked envelopes, or a ValueError listing every problem (nothing is sent)."""
        if self.event_type is not None:
            self._version_of(self.event_type)  # an unknown type or version: one error, first
        found: list[Envelope[Any]] = []
        problems: list[str] = []
        for where, doc in documents:
            try:
                found.append(self._envelope(doc))
            except ContractError as exc:
                problems.append(f"{where}: {exc.detail}")
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
        if problems:
            raise ValueError("nothing was sent:\n  " + "\n  ".join(problems))
        return found

    def _envelope(self, doc: Any) -> Envelope[Any]:
        if self.event_type is not None:
            return self.catalog.validate(self._fresh(self.event_type, doc, self.version))
        if not isinstance(doc, dict):
            raise ValueError("an envelope is a JSON object (or use --type)")
        event_type = doc.get("type")
        if not isinstance(event_type, str) or "data" not in doc:
            raise ValueError('an envelope needs at least "type" and "data" (or use --type)')
        fresh = self._fresh(event_type, None, doc.get("version", self.version)).to_dict()
        if "id" in doc and "correlation_id" not in doc:
            fresh["correlation_id"] = self.correlation_id or doc["id"]
        return self.catalog.decode({**fresh, **doc})

    def _fresh(self, event_type: str, data: Any, version: Any) -> Envelope[Any]:
        """A new envelope of ``event_type``: new id, now, the version asked or the newest."""
        return Envelope.new(
            event_type,
            data,
            source=SOURCE,
            version=version if isinstance(version, int) else self._version_of(event_type),
            correlation_id=self.correlation_id,
        )

    def _version_of(self, event_type: str) -> int:
        """``--version`` if the catalog knows it for ``event_type``, else the newest."""
        latest = self.catalog.latest(event_type)
        if self.version is None:
            return latest
        known = sorted(c.version for c in self.catalog if c.type == event_type)
        if self.version not in known:
            raise ValueError(
                f"--version {self.version}: the catalog knows {event_type} "
                f"v{', v'.join(map(str, known))} (the newest is built by default)"
            )
        return self.version


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
