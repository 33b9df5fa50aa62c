"""End to end: the FIFO ledger queue keeps order within each message group."""

from __future__ import annotations

import uuid

import pytest

from events import PAYMENT_CAPTURED
from sluice.core import Envelope
from tests.sandbox.conftest import Running

pytestmark = pytest.mark.sandbox


def test_payments_are_applied_in_order_within_each_account(sandbox: Running) -> None:
    # GIVEN payments for two accounts, interleaved, sent to the FIFO queue in one go
    accounts = [f"acct-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    payments = [
        Envelope.new(
            PAYMENT_CAPTURED,
            {
                "payment_id": f"pay-{uuid.uuid4().hex[:8]}",
                "account_id": accounts[i % 2],
                "amount_cents": 100 + i,
            },
            source="tests",
        )
        for i in range(8)
    ]
    publisher = sandbox.publisher("sluice-ledger.fifo", group_by={PAYMENT_CAPTURED: "account_id"})
    # WHEN they are delivered to the ledger
    assert publisher.publish(payments).ok
    ids = {p.id for p in payments}
    sandbox.wait(
        lambda: (
            len([x for x in sandbox.lines(worker="ledger", outcome="done") if x["event_id"] in ids])
            == 8
        )
    )
    # THEN within each account they were applied in the order they were sent
    done = [
        x["event_id"]
        for x in sandbox.lines(worker="ledger", outcome="done")
        if x["event_id"] in ids
    ]
    for account in accounts:
        sent = [p.id for p in payments if p.data["account_id"] == account]
        assert [i for i in done if i in sent] == sent
    # AND the balances are the sums
    assert sandbox.box.clients is not None
    for offset, account in enumerate(accounts):
        balance = sandbox.box.clients.dynamodb.get_item(
            TableName=sandbox.box.topology.table("state"),
            Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "BALANCE"}},
        )["Item"]
        expected = sum(100 + i for i in range(offset, 8, 2))
        assert balance["balance_cents"] == {"N": str(expected)}
