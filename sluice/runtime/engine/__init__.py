"""The batch engine: one Lambda invocation, from raw event to partial batch response.

1. parse the batch and decode every record (a contract violation is permanent);
2. skip the ids the idempotency table already knows (one BatchGetItem), while copies of
   events already seen arrive;
3. run the records: concurrently on standard queues; in order per message group on FIFO
   queues and per shard on streams, where a failure fails the rest of its group;
4. settle: release failed claims, dead-letter permanent failures with their reason, back
   off retries by receive count, emit metrics, and answer ``batchItemFailures``.

Each part is its own module, so each can change alone: ``jobs`` (a record's state and the
clock), ``lifecycle`` (one record: decode, claim, call, complete), ``ordering`` (which
records run, in which order, on how many threads; ``pacing`` says whether threads help),
``prechecks`` (whether step 2 is worth its read),
``settling`` (step 4) and ``batch`` (the steps in order).
"""

from sluice.runtime.engine.batch import run_batch
from sluice.runtime.engine.lifecycle import Declared

__all__ = ["Declared", "run_batch"]
