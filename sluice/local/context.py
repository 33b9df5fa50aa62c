"""The Lambda context object a sandbox invocation receives."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from sluice.runtime import WorkerSpec

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
