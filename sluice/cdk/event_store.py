"""EventStore: the tables, on-demand, point-in-time recovery, encrypted, named by the topology."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra import defaults
from sluice.topology import STREAM_TABLES, TABLE_KEYS, TABLES, Topology


class EventStore(Construct):
    """``orders`` (streamed, NEW_AND_OLD_IMAGES), ``idempotency`` (TTL) and ``state``."""

    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology) -> None:
        super().__init__(scope, construct_id)
        self._tables: dict[str, dynamodb.Table] = {}
        for logical in TABLES:
            keys = [
                dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING)
                for key in TABLE_KEYS[logical]
            ]
            self._tables[logical] = dynamodb.Table(
                self,
                logical.capitalize(),
                table_name=topology.table(logical),
                partition_key=keys[0],
                sort_key=keys[1] if len(keys) > 1 else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                stream=(
                    dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if logical in STREAM_TABLES else None
                ),
                time_to_live_attribute=(
                    defaults.TTL_ATTRIBUTE if logical == "idempotency" else None
                ),
                removal_policy=defaults.TABLE_REMOVAL,
            )

    def table(self, logical: str) -> dynamodb.Table:
        """The table for a logical name, or an error naming the ones there are."""
        try:
            return self._tables[logical]
        except KeyError:
            raise KeyError(f"no table {logical!r}; tables: {', '.join(self._tables)}") from None
