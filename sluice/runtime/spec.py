"""What a worker is, as data: where its records come from and how it runs.

The bottom of the runtime: the infra, the sandbox and the tools read a ``WorkerSpec``
without importing the engine, and ``check_spec`` fails fast on a bad declaration.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from enum import StrEnum

from sluice.core import Catalog
from sluice.runtime.errors import ConfigurationError


class Source(StrEnum):
    """Where a worker's records come from."""

    SNS_QUEUE = "sns-queue"
    """A standard SQS queue subscribed to the events topic (raw delivery, filter policy)."""
    SQS_QUEUE = "sqs-queue"
    """A standard SQS queue that producers send to directly."""
    FIFO_QUEUE = "fifo-queue"
    """An SQS FIFO queue that producers send to directly; ordered per message group."""
    STREAM = "dynamodb-stream"
    """A DynamoDB table's stream (NEW_AND_OLD_IMAGES)."""

    @property
    def is_queue(self) -> bool:
        """True for the SQS kinds."""
        return self is not Source.STREAM

    @property
    def is_fifo(self) -> bool:
        """True when order within a message group must hold."""
        return self is Source.FIFO_QUEUE


class Runtime(StrEnum):
    """Where a queue worker runs: the same function, envelope and engine either way."""

    LAMBDA = "lambda"
    """A Lambda function fed by an SQS event source mapping (the default)."""
    CONTAINER = "container"
    """Long-running ``sluice work`` processes: an ECS Fargate service on AWS, child
    processes in the sandbox."""


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything the infra, the sandbox and the tools need to know about one worker."""

    name: str
    """The worker's name (the function's, unless ``@worker(name=...)``): at most 33
    characters, part of its queue's and its function's names."""
    module: str
    """The module that declares it; its ``handler`` is what the function points at."""
    source: Source
    """Where its records come from (``Source``); an SNS-fed queue by default."""
    subscribes: frozenset[str] | None
    """Event types delivered to the worker; None means every event (no filter policy)."""
    _: KW_ONLY  # every setting below is named, so a new one never moves another
    batch_size: int = 10
    """Records per invocation: 1-10 on FIFO queues, up to 10,000 otherwise (above 10 on a
    standard queue needs a batching window)."""
    batching_window_s: int = 0
    """Seconds the event source may wait to fill a batch (0-300; none on FIFO queues)."""
    max_concurrency: int = 10
    """Records of one batch in flight at once (threads). FIFO: groups in flight at once."""
    max_invocations: int = 5
    """Concurrent invocations the event source may run (ESM maximum concurrency, >= 2)."""
    max_receive_count: int = 5
    """Receives before SQS moves a failing message to the DLQ (1-1000)."""
    timeout_s: int = 30
    """The function's timeout (1-900 s); the queue's visibility timeout is six times it."""
    memory_mb: int = 256
    """The function's memory (128-10240 MB)."""
    timeout_margin_s: float = 3.0
    """Records not started when less than this remains are reported failed instead."""
    table: str | None = None
    """For stream workers: the logical name of the table whose stream is read."""
    group_by: str | None = None
    """For FIFO workers: the ``data`` field producers use as MessageGroupId."""
    retry_attempts: int = 3
    """For stream workers: retries of a failing batch before the on-failure record."""
    max_record_age_s: int = 3600
    """For stream workers: older records go to the on-failure destination unprocessed."""
    parallelization: int = 1
    """For stream workers: batches in flight at once per shard (the event source mapping's
    ParallelizationFactor, 1..10); records of one partition key keep their order."""
    backoff_base_s: float = 2.0
    """A failed record's next delivery waits 2^(receives-1) x this, up to the visibility."""
    idempotent: bool = True
    """Claim each record's envelope id before running it. ``@worker(batch=True)`` defaults
    to False: the engine has no single effect to claim for a whole batch."""
    transact_only: bool = False
    """The function's only effect is its ``deps.transact(...)`` (it calls nothing else that
    changes the world). The engine then writes no claim before it runs: the completion rides
    in that transaction, conditioned on the event being new, so a copy costs one refused
    transaction and has no effect. A copy running meanwhile runs the function too; only one
    transaction commits. Without it, a claim makes the function itself run once."""
    idempotency_ttl_s: int = 14 * 24 * 3600
    """How long a completed event id is remembered: as long as a DLQ keeps messages."""
    batch: bool = False
    """True if the function takes the whole batch (list of envelopes) instead of one."""
    writes: tuple[str, ...] = ()
    """Logical tables the worker writes (the infra grants exactly these)."""
    publishes: bool = False
    """True if the worker publishes to the events topic (the infra grants exactly that)."""
    description: str = ""
    """The function's description on AWS."""
    runtime: Runtime = Runtime.LAMBDA
    """Where it runs; the app's ``runtimes`` may override it per stage."""
    min_tasks: int = 1
    """Container workers: the fewest tasks the service scales in to."""
    max_tasks: int = 4
    """Container workers: the most tasks the service scales out to."""
    throughput: float = 10.0
    """Container workers: records a second one task sustains; the scaling target follows."""
    max_job_s: int = 3600
    """Container workers: the heartbeat keeps a record invisible this long at most."""

    @property
    def handler_path(self) -> str:
        """What a Lambda function's ``handler`` setting points at."""
        return f"{self.module}.handler"

    @property
    def visibility_timeout_s(self) -> int:
        """The queue's visibility timeout: six times the function timeout, as AWS advises."""
        return 6 * self.timeout_s

    def accepts(self, event_type: str) -> bool:
        """Whether the worker subscribes to ``event_type``."""
        return self.subscribes is None or event_type in self.subscribes


MAX_NAME = 33
"""64 characters of a function name, less a prefix of up to 30 and its ``-``."""


def check_spec(spec: WorkerSpec, catalog: Catalog) -> None:
    """Fail fast, with a sentence that says how to fix the declaration."""
    where = f"worker {spec.name!r} ({spec.module})"
    if spec.subscribes is not None:
        if not spec.subscribes:
            raise ConfigurationError(f"{where}: subscribes=[] delivers nothing; omit it for all")
        unknown = sorted(spec.subscribes - catalog.types)
        if unknown:
            raise ConfigurationError(
                f"{where} subscribes to {unknown}, which the catalog does not know: "
                f"add a Contract to the app's catalog first (known: {sorted(catalog.types)})"
            )
    limit = 10 if spec.source.is_fifo else 10_000
    if not 1 <= spec.batch_size <= limit:
        raise ConfigurationError(f"{where}: batch_size must be 1..{limit}, got {spec.batch_size}")
    standard = spec.source in (Source.SNS_QUEUE, Source.SQS_QUEUE)
    if standard and spec.batch_size > 10 and spec.batching_window_s < 1:
        raise ConfigurationError(f"{where}: batch_size > 10 needs batching_window_s >= 1")
    if not 0 <= spec.batching_window_s <= 300:
        raise ConfigurationError(f"{where}: batching_window_s must be 0..300")
    if spec.source.is_fifo and spec.batching_window_s:
        raise ConfigurationError(f"{where}: AWS takes no batching window on FIFO queues; omit it")
    if len(spec.name) > MAX_NAME:
        raise ConfigurationError(
            f"{where}: a name of {len(spec.name)} characters is too long; use at most "
            f"{MAX_NAME}, so <prefix>-<name> fits a Lambda function name (64) for any prefix"
        )
    if not 1 <= spec.timeout_s <= 900:
        raise ConfigurationError(f"{where}: timeout_s must be 1..900, got {spec.timeout_s}")
    if not 128 <= spec.memory_mb <= 10_240:
        raise ConfigurationError(f"{where}: memory_mb must be 128..10240")
    if spec.max_concurrency < 1 or spec.max_invocations < 2:
        raise ConfigurationError(f"{where}: max_concurrency >= 1 and max_invocations >= 2")
    if not 1 <= spec.max_receive_count <= 1000:
        raise ConfigurationError(f"{where}: max_receive_count must be 1..1000")
    if spec.timeout_margin_s >= spec.timeout_s:
        raise ConfigurationError(f"{where}: timeout_margin_s must be below timeout_s")
    if (spec.source is Source.STREAM) != (spec.table is not None):
        raise ConfigurationError(f"{where}: stream workers, and only they, name a `table`")
    _check_parallelization(spec, where)
    if spec.batch and spec.source.is_fifo:
        raise ConfigurationError(
            f"{where}: batch=True cannot keep a FIFO queue's order (a failed record would not "
            "hold back the rest of its group); take records one by one (omit batch=True)"
        )
    if spec.batch and spec.idempotent:
        raise ConfigurationError(
            f"{where}: batch=True workers get no idempotency from the engine (a batch is no "
            "single effect to claim); pass idempotent=False and make the batch's effects "
            "idempotent (e.g. writes keyed on each envelope id), or omit batch=True"
        )
    if spec.transact_only and not spec.idempotent:
        raise ConfigurationError(
            f"{where}: transact_only=True commits the idempotency completion in the effect's "
            "transaction; it needs idempotent=True"
        )
    _check_runtime(spec, where)
    if spec.source.is_fifo and not spec.group_by:
        raise ConfigurationError(f"{where}: FIFO workers name the `group_by` data field")


MAX_PARALLELIZATION = 10
"""AWS's most concurrent batches per stream shard (ParallelizationFactor)."""


def _check_parallelization(spec: WorkerSpec, where: str) -> None:
    """A stream's batches per shard: 1..10, and only on a stream."""
    if spec.source is not Source.STREAM and spec.parallelization != 1:
        raise ConfigurationError(
            f"{where}: parallelization is batches per stream shard; a queue worker scales "
            "with max_invocations instead (omit parallelization)"
        )
    if not 1 <= spec.parallelization <= MAX_PARALLELIZATION:
        raise ConfigurationError(
            f"{where}: parallelization (batches in flight per stream shard) must be "
            f"1..{MAX_PARALLELIZATION}, got {spec.parallelization}"
        )


def _check_runtime(spec: WorkerSpec, where: str) -> None:
    """Containers consume queues; their task counts and throughput must make sense."""
    if spec.runtime is Runtime.LAMBDA:
        return
    if not spec.source.is_queue:
        raise ConfigurationError(
            f"{where}: runtime='container' consumes an SQS queue; a stream worker runs on Lambda"
        )
    if not 1 <= spec.min_tasks <= spec.max_tasks <= 1000:
        raise ConfigurationError(
            f"{where}: container tasks need 1 <= min_tasks <= max_tasks <= 1000, "
            f"got min_tasks={spec.min_tasks}, max_tasks={spec.max_tasks}"
        )
    if spec.throughput <= 0:
        raise ConfigurationError(f"{where}: throughput (records/s per task) must be > 0")
    if spec.max_job_s < spec.timeout_s:
        raise ConfigurationError(f"{where}: max_job_s must be at least timeout_s")
