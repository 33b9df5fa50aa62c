"""A worker's Lambda function as the sandbox runs it: the context object, and one invocation.

``LambdaContext`` is what Lambda passes as ``context`` (the remaining time honours the
worker's timeout); ``invoke`` calls a worker's real handler with one, timed and logged as a
sandbox hop. (The worker's own dependencies are ``sluice.runtime.Deps``, not this.)
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sluice.local.logs import LogSink
from sluice.runtime import Worker, WorkerSpec

ACCOUNT = "123456789012"


@dataclass
class LambdaContext:
    """What Lambda passes as ``context``; the remaining time honours the worker's timeout."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "sandbox"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    @classmethod
    def for_worker(cls, spec: WorkerSpec, region: str, prefix: str) -> LambdaContext:
        """A fresh context for one invocation of ``spec``'s function."""
        name = f"{prefix}-{spec.name}"
        return cls(
            function_name=name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
            timeout_s=spec.timeout_s,
        )

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until this invocation would be killed."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Result:
    """How one invocation ended."""

    failed_ids: set[str] = field(default_factory=set)
    """Item identifiers from batchItemFailures (messageIds or sequence numbers)."""
    error: str | None = None
    """Set when the handler raised: the whole batch failed."""
    context: LambdaContext | None = None

    def settled(self, correlations: dict[str, str]) -> list[str]:
        """The correlation ids of the records that succeeded."""
        if self.error is not None:
            return []
        return [cid for item, cid in correlations.items() if item not in self.failed_ids]

    @property
    def ok(self) -> bool:
        """True if every record succeeded."""
        return self.error is None and not self.failed_ids


def invoke(
    worker: Worker,
    event: dict[str, Any],
    sink: LogSink,
    *,
    region: str,
    prefix: str,
    correlations: dict[str, str] | None = None,
) -> Result:
    """Call the worker's real handler as Lambda would, with a context honouring its timeout.

    ``correlations`` maps item ids to correlation ids; those that succeeded are logged as
    ``settled``, which is when the event source counts them done (deleted, checkpointed).
    """
    spec = worker.spec
    context = LambdaContext.for_worker(spec, region, prefix)
    started = time.perf_counter()
    result = Result(context=context)
    try:
        response = worker.handler(event, context)
    except BaseException as exc:  # any raise (sys.exit too) fails the whole batch, as in Lambda
        result.error = f"{type(exc).__name__}: {exc}"
    else:
        failures = (response or {}).get("batchItemFailures") or []
        result.failed_ids = {str(f["itemIdentifier"]) for f in failures}
    sink.event(
        "invocation end",
        worker=spec.name,
        correlation_id="-",
        level="WARNING" if result.error else "INFO",
        request_id=context.aws_request_id,
        records=len(event["Records"]),
        failed=len(event["Records"]) if result.error else len(result.failed_ids),
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        **({"error": result.error} if result.error else {}),
        **({"settled": result.settled(correlations)} if correlations else {}),
    )
    return result
