"""A typical Powertools worker module: Logger, Metrics, batch, idempotency on DynamoDB.

What a team writes without Sluice, built as Powertools' docs teach: everything at module
level, so warm invocations find it ready. The cold-start benchmark times its import.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Metrics

from bench.peers.powertools import PowertoolsWorker
from sluice.core import Envelope


def reserve(envelope: Envelope[Any]) -> None:
    """The inventory-like business logic: add each line's quantity to its SKU's stock."""
    for item in envelope.data.items:
        inventory.persistence.client.update_item(
            TableName=os.environ.get("STATE_TABLE", "state"),
            Key={"pk": {"S": f"SKU#{item.sku}"}, "sk": {"S": "STOCK"}},
            UpdateExpression="ADD reserved :q",
            ExpressionAttributeValues={":q": {"N": str(item.quantity)}},
        )


metrics = Metrics(namespace="Peer", service="inventory")
inventory = PowertoolsWorker(reserve, table=os.environ.get("IDEMPOTENCY_TABLE", "idempotency"))
handler = metrics.log_metrics(inventory.handler)
