"""EventBus: the events topic, encrypted with a customer key that rotates, TLS only."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from sluice.topology import Topology


class EventBus(Construct):
    """The SNS topic every SNS-fed worker subscribes to, and the key of every topic."""

    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{topology.prefix}-topics",
            description=f"Encrypts the {topology.prefix} events and alarms topics.",
            enable_key_rotation=True,
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topology.topic,
            display_name=f"{topology.prefix} events",
            master_key=self.key,
            enforce_ssl=True,
        )
