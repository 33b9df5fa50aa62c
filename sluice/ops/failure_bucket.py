"""The one bucket a stream failure queue's S3 notices may name: the stack's own, in its account.

Anyone in the account who may send to the failure queue can put a notice on it (the queue's
Deny covers only the S3 service principal), and a replay publishes what the named object
holds with the operator's credentials. So a notice is trusted only when every object it
names is in the bucket the queue's policy lets S3 notify from, and that bucket is read only
if the queue's account owns it (``ExpectedBucketOwner``). Any other notice is refused with
the reason, and left in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sluice.ops.failure_objects import policy_bucket
from sluice.ops.s3_notices import Notice

_LEFT = "not read, left in the queue"


@dataclass(frozen=True, slots=True)
class FailureBucket:
    """A failure queue's own bucket and account, as its policy and ARN name them."""

    queue: str
    name: str | None
    """None when the policy lets no bucket notify the queue, or could not be read."""
    account: str | None

    def refusal(self, notice: Notice) -> str | None:
        """Why ``notice`` is refused, or None when it names only objects of this bucket."""
        named = notice.named
        if self.name is None or self.account is None:
            if not named:
                return None
            return (
                f"names {', '.join(u for _, u in named)}, and the policy of {self.queue} lets no "
                f"bucket notify it (or could not be read), so no notice can be trusted: {_LEFT}"
            )
        foreign = [uri for bucket, uri in named if bucket != self.name]
        if not foreign:
            return None
        return (
            f"names {', '.join(foreign)}, not this stack's failure bucket s3://{self.name} "
            f"(account {self.account}): {_LEFT}"
        )


def own_bucket(sqs: Any, queue_url: str, queue: str) -> FailureBucket:
    """The bucket the queue's policy lets S3 notify from, and the queue's account."""
    try:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["Policy", "QueueArn"]
        ).get("Attributes", {})
    except (BotoCoreError, ClientError):
        return FailureBucket(queue, None, None)
    parts = str(attrs.get("QueueArn", "")).split(":")
    account = parts[4] if len(parts) == 6 and parts[4] else None
    return FailureBucket(queue, policy_bucket(str(attrs.get("Policy", ""))), account)
