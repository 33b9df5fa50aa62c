"""Deployed sizes both the CDK app and ``sluice capacity`` read: the API's throttle and
function size, and the Fargate task a container worker's memory becomes.

Plain numbers, so the capacity model reads what the stack deploys without importing CDK.
"""

from __future__ import annotations

import math

API_RATE_LIMIT = 100
"""The API stage's steady throttle, requests per second (API Gateway method throttling)."""
API_BURST_LIMIT = 200
"""The API stage's burst, requests."""
API_MEMORY_MB = 256
CONTAINER_BACKLOG_SECONDS = 60
"""A container worker's service aims to clear its backlog within this many seconds."""
FARGATE_SIZES = ((256, 2048), (512, 4096), (1024, 8192), (2048, 16384))
"""Fargate's (cpu units, most memory MiB) steps; 4096 cpu units take up to 30720 MiB."""


def fargate_size(memory_mb: int) -> tuple[int, int]:
    """The declared memory -> a valid Fargate (cpu units, memory MiB) pair, rounded up."""
    memory = 512 if memory_mb <= 512 else 1024 * math.ceil(memory_mb / 1024)
    for cpu, most in FARGATE_SIZES:
        if memory <= most:
            return cpu, memory
    return 4096, min(memory, 30720)
