"""Workers off Lambda: ``sluice work``, a long-running SQS consumer over the same engine.

``Runner`` receives (long polling, up to ten per receive, several receivers), hands each
receive to the worker's Lambda entry (so partial failures, permanent errors to the DLQ,
backoff, FIFO groups, idempotency and metrics are the engine's, unchanged), keeps records
in progress invisible with a capped heartbeat, holds ECS task scale-in protection while
busy, and drains on SIGTERM. Nothing here ships in a Lambda.
"""

from sluice.container.health import HealthFile
from sluice.container.protection import ScaleInProtection
from sluice.container.runner import Runner, WorkSettings

__all__ = ["HealthFile", "Runner", "ScaleInProtection", "WorkSettings"]
