"""EventBus: the events topic, encrypted with a customer key that rotates, TLS only.

Producers in other accounts (``App.producer_accounts``) may publish: the topic policy allows
their ``sns:Publish`` and the key policy their data keys; each account's own IAM still
decides which of its principals may.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from sluice.cdk import defaults
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
            removal_policy=defaults.KEY_REMOVAL,
            pending_window=defaults.KEY_PENDING_WINDOW,
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topology.topic,
            display_name=f"{topology.prefix} events",
            master_key=self.key,
            enforce_ssl=True,
        )
        for account in topology.app.producer_accounts:
            producer = iam.AccountPrincipal(account)
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Producer{account}",
                    principals=[producer],
                    actions=["sns:Publish"],
                    resources=[self.topic.topic_arn],
                )
            )
            self.key.grant(producer, "kms:Decrypt", "kms:GenerateDataKey*")
