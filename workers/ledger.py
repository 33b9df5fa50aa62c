"""ledger: apply captured payments to account balances, in order per account (FIFO)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from events import CATALOG, PAYMENT_CAPTURED, PaymentCaptured
from sluice.core import Envelope, format_time
from sluice.runtime import Deps, PermanentError, Source, worker
from workers._dynamo import Transact, cancelled_reasons, is_condition_failure, number


def apply_payment(transact: Transact, table: str, event: Envelope[PaymentCaptured]) -> None:
    """Add the entry and move the balance in one transaction, refusing to go back in time."""
    payment = event.data
    account = {"S": f"ACCOUNT#{payment.account_id}"}
    moment = {"S": format_time(event.time)}
    try:
        transact(
            [
                {
                    "Put": {
                        "TableName": table,
                        "Item": {
                            "pk": account,
                            "sk": {"S": f"ENTRY#{payment.payment_id}"},
                            "amount_cents": number(payment.amount_cents),
                            "event_id": {"S": event.id},
                            "at": moment,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": account, "sk": {"S": "BALANCE"}},
                        "UpdateExpression": (
                            "ADD balance_cents :amount, entries :one SET last_at = :at"
                        ),
                        "ConditionExpression": "attribute_not_exists(last_at) OR last_at <= :at",
                        "ExpressionAttributeValues": {
                            ":amount": number(payment.amount_cents),
                            ":one": number(1),
                            ":at": moment,
                        },
                    }
                },
            ]
        )
    except ClientError as exc:
        if not is_condition_failure(exc):
            raise
        failed = [r == "ConditionalCheckFailed" for r in cancelled_reasons(exc)] + [False, False]
        entry_exists, out_of_order = failed[0], failed[1]
        if entry_exists:
            return  # this payment was applied already (same payment, another event id)
        if out_of_order:
            raise PermanentError(
                f"payment {payment.payment_id} is older than the account's last entry",
                reason="out_of_order",
            ) from exc
        raise


@worker(
    catalog=CATALOG,
    subscribes=[PAYMENT_CAPTURED],
    source=Source.FIFO_QUEUE,
    group_by="account_id",
    batch_size=10,
    max_concurrency=4,
    writes=("state",),
    description="Applies captured payments to balances, in order per account.",
)
def ledger(event: Envelope[PaymentCaptured], deps: Deps) -> None:
    """Apply one payment."""
    apply_payment(deps.transact, deps.settings.table("state"), event)


handler = ledger.handler
