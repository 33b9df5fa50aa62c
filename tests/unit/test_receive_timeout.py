"""An idle long poll returns empty, never as a read timeout: the SQS client waits longer for
an answer than any consumer lets SQS hold a receive (finding 13)."""

from __future__ import annotations

import typer

from sluice.cli import build
from sluice.container.runner import WorkSettings
from sluice.local.sqs_poller import WAIT_S
from sluice.runtime import Clients

SQS_LONGEST_WAIT_S = 20
"""ReceiveMessage's WaitTimeSeconds runs 0-20 (the SQS API reference)."""


def _wait_option_max() -> int:
    """The most ``sluice work --wait-s`` accepts."""
    group = typer.main.get_group(build())
    work = group.commands["work"]
    [option] = [p for p in work.params if p.name == "wait_s"]
    return int(option.max)  # type: ignore[attr-defined]


def test_the_sqs_client_outwaits_every_long_poll_a_consumer_asks_for() -> None:
    # GIVEN the SQS client `sluice work` and the sandbox's pollers receive with
    sqs = Clients(endpoint_url="http://127.0.0.1:1").sqs
    # WHEN SQS holds a receive as long as each consumer may ask
    waits = {
        "sluice work's default": WorkSettings().wait_s,
        "sluice work --wait-s at most": _wait_option_max(),
        "the sandbox poller": WAIT_S,
        "SQS at most": SQS_LONGEST_WAIT_S,
    }
    # THEN the client is still waiting for the answer when it comes
    read_timeout = sqs.meta.config.read_timeout
    assert {name: wait < read_timeout for name, wait in waits.items()} == dict.fromkeys(
        waits, True
    ), f"read_timeout {read_timeout} s, waits {waits}"


def test_other_services_keep_the_shorter_read_timeout() -> None:
    # GIVEN the same clients WHEN a DynamoDB call hangs THEN it gives up after 20 s, as before
    clients = Clients(endpoint_url="http://127.0.0.1:1")
    assert clients.dynamodb.meta.config.read_timeout == 20
