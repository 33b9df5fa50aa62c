"""A producer finds the running sandbox: ``sluice.target.local()`` in Python, and
``eval "$(sluice env --local)"`` in a shell, against a real sandbox and its state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from events import PAYMENT_CAPTURED
from sluice.core import Envelope
from sluice.publisher import Publisher
from sluice.runtime import ConfigurationError
from sluice.target import local
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def state_file(sandbox: Running, tmp_path: Path) -> Path:
    """The state file `sluice up` would write for this sandbox."""
    return sandbox.box.state(None).save(tmp_path / "sandbox.json")


def test_local_gives_a_producer_clients_and_names_of_the_running_sandbox(
    sandbox: Running, state_file: Path
) -> None:
    # GIVEN the target a producer gets from the state file
    target = local(state_file=state_file)
    assert target.endpoint_url == sandbox.box.endpoint_url
    assert target.topic_arn() == sandbox.box.provisioned.topic_arn  # type: ignore[union-attr]
    # WHEN it publishes a payment to the FIFO ledger through those clients and names
    account = f"acct-{uuid.uuid4().hex[:6]}"
    data = {"payment_id": f"pay-{account}", "account_id": account, "amount_cents": 250}
    queue = target.queue_url("sluice-ledger.fifo")
    with Publisher.to_queue(
        target.clients.sqs, queue, group_by={PAYMENT_CAPTURED: "account_id"}
    ) as out:
        out.add(Envelope.new(PAYMENT_CAPTURED, data, source="producer"))
    # THEN the sandbox's ledger applies it, read back through the same target
    key = {"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "BALANCE"}}
    table = target.topology.table("state")
    sandbox.wait(lambda: target.clients.dynamodb.get_item(TableName=table, Key=key).get("Item"))
    item = target.clients.dynamodb.get_item(TableName=table, Key=key)["Item"]
    assert item["balance_cents"] == {"N": "250"}


def test_local_without_a_sandbox_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="start one with `sluice up`"):
        local(state_file=tmp_path / "sandbox.json")


PRODUCER = """
import boto3, json, os
sqs, db = boto3.client("sqs"), boto3.client("dynamodb")
print(json.dumps({
    "queue": sqs.get_queue_url(QueueName="sluice-ledger.fifo")["QueueUrl"],
    "table": db.describe_table(TableName=os.environ["SLUICE_ORDERS_TABLE"])["Table"]["TableName"],
    "topic": os.environ["SLUICE_EVENTS_TOPIC_ARN"],
    "api": os.environ["SLUICE_API_URL"],
}))
"""


def test_sluice_env_points_a_shell_and_its_boto3_at_the_sandbox(
    sandbox: Running, state_file: Path
) -> None:
    # GIVEN a shell that evaluates `sluice env --local`, with no AWS settings of its own
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLUICE_"))}
    script = f'eval "$({sys.executable} -m sluice.cli env --local)" && {sys.executable} -c "$P"'
    # WHEN a plain boto3 program runs in it
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={**clean, "SLUICE_STATE_DIR": str(state_file.parent), "P": PRODUCER},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN it reached the sandbox's queue and table, and has the app's names
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["queue"].startswith(sandbox.box.endpoint_url)
    assert found["table"] == "sluice-orders"
    assert found["topic"] == sandbox.box.provisioned.topic_arn  # type: ignore[union-attr]
    assert found["api"] == sandbox.box.api_url


def test_sluice_env_without_a_sandbox_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sluice.cli", "env", "--local"],
        cwd=ROOT,
        env={**os.environ, "SLUICE_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: no sandbox is running ({tmp_path}/sandbox.json does not exist): "
        "start one with `sluice up`"
    ]
    assert done.stdout == ""
