"""``sluice env``: shell exports that point AWS SDKs and CLIs at the sandbox (or AWS)."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer
from botocore.exceptions import BotoCoreError, ClientError

from sluice.runtime import ConfigurationError
from sluice.target import connect

HELP = """Print `export NAME=value` lines for a shell: `eval "$(sluice env --local)"`.

With --local: AWS_ENDPOINT_URL (the running sandbox's moto server),
AWS_REGION, AWS_DEFAULT_REGION, the sandbox's fake AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, and AWS_EC2_METADATA_DISABLED, so the AWS CLI, boto3
and other SDKs reach the sandbox; and the app's names:
SLUICE_EVENTS_TOPIC_ARN, SLUICE_<TABLE>_TABLE for each table, and
SLUICE_API_URL when the sandbox serves an API. Without --local: the region
and the app's names on AWS (default credentials; no endpoint, no keys).

\b
Examples:
  eval "$(sluice env --local)"
  aws sqs list-queues          # the sandbox's queues
  python my_producer.py        # boto3 reads AWS_ENDPOINT_URL too
"""


def register(app: typer.Typer) -> None:
    """Mount ``sluice env`` on the root command."""
    app.command("env", help=HELP)(env)


def env(
    local: Annotated[
        bool, typer.Option("--local", help="The running sandbox (`sluice up`), not AWS.")
    ] = False,
    prefix: Annotated[
        str | None,
        typer.Option(help="Resource name prefix (default: the sandbox's, else the app's)."),
    ] = None,
) -> None:
    """Print shell exports for the sandbox or AWS."""
    try:
        values = connect(local=local, prefix=prefix).environment()
    except (ConfigurationError, BotoCoreError, ClientError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    for name, value in sorted(values.items()):
        typer.echo(f"export {name}={shlex.quote(value)}")
