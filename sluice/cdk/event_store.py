"""EventStore: the app's tables; on-demand, point-in-time recovery, encrypted, topology-named."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from sluice.app import Table
from sluice.cdk.naming import pascal
from sluice.topology import Topology


class EventStore(Construct):
    """One table per ``App.all_tables`` entry: the app's own and the idempotency table.

    Keys are strings, as declared; a table declared with ``stream=True`` gets a
    NEW_AND_OLD_IMAGES stream, and one with a ``ttl_attribute`` expires items by it.
    ``removal`` is the stage's: retained tables outlive the stack (take them over with
    ``cdk import``), destroyed ones let a dev prefix be deployed again after a destroy.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, topology: Topology, removal: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self._removal = removal
        self._tables: dict[str, dynamodb.Table] = {
            table.name: self._table(table, topology) for table in topology.app.all_tables
        }

    def _table(self, table: Table, topology: Topology) -> dynamodb.Table:
        keys = [
            dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING) for key in table.keys
        ]
        return dynamodb.Table(
            self,
            pascal(table.name),
            table_name=topology.table(table.name),
            partition_key=keys[0],
            sort_key=keys[1] if len(keys) > 1 else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if table.stream else None,
            time_to_live_attribute=table.ttl_attribute,
            removal_policy=self._removal,
        )

    def table(self, logical: str) -> dynamodb.Table:
        """The table for a logical name, or an error naming the ones there are."""
        try:
            return self._tables[logical]
        except KeyError:
            raise KeyError(f"no table {logical!r}; tables: {', '.join(self._tables)}") from None
