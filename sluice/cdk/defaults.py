"""Every infra default in one place; the constructs only assemble them.

What a worker can tune (memory, timeout, batch size, receives) lives on its ``@worker``
declaration, and what an app names (tables, keys, TTL, API handler and routes) on its
``App``; this module holds what is the same for every app and the whole pipeline.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from sluice import sizing, thresholds

# Lambda: one runtime and one architecture for every function, and the layer built to match.
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.12"
# pip takes the newest wheel any of these tags allows; the Python 3.12 runtime (Amazon Linux
# 2023) has glibc 2.34, so manylinux_2_28 wheels run there as well as manylinux2014 ones.
PIP_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
METRICS_NAMESPACE = "Sluice"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
LOG_LEVEL = "INFO"

# Queues and DLQs: a DLQ keeps a message as long as SQS allows, so nobody races a deadline.
DLQ_RETENTION = Duration.days(14)
QUEUE_RETENTION = Duration.days(4)

# What outlives a `cdk destroy` is the stage's choice (sluice/cdk/stage.py); the topics key
# protects nothing that outlives the topics, so it goes with them after the shortest wait.
KEY_REMOVAL = RemovalPolicy.DESTROY
KEY_PENDING_WINDOW = Duration.days(7)

# Stream failures: Lambda writes the whole invocation record (the batch's records too) to a
# bucket; objects are kept as long as a DLQ keeps messages, so both expire together.
STREAM_FAILURE_RETENTION = DLQ_RETENTION

# Alarms: a DLQ with anything in it is always worth a look.
# The numbers live in sluice.thresholds, which `sluice top` reads too.
ALARM_PERIOD = Duration.seconds(thresholds.ALARM_PERIOD_S)
QUEUE_AGE_THRESHOLD = Duration.seconds(thresholds.QUEUE_AGE_S)
QUEUE_AGE_PERIODS = thresholds.QUEUE_AGE_PERIODS
ITERATOR_AGE_THRESHOLD = Duration.seconds(thresholds.ITERATOR_AGE_S)
ITERATOR_AGE_PERIODS = thresholds.ITERATOR_AGE_PERIODS
# A dead letter nobody has looked at for this long pages again (SQS stops reporting an idle
# queue's depth after about 6 hours, so the depth alarm alone cannot be trusted to stay on).
DLQ_AGE_THRESHOLD = Duration.seconds(thresholds.DLQ_AGE_S)

# Schedules: EventBridge Scheduler retries a failed send with backoff, then dead-letters it;
# an event an hour late is dead-lettered rather than delivered.
SCHEDULE_RETRY_ATTEMPTS = 10
SCHEDULE_MAX_EVENT_AGE = Duration.hours(1)

# API: throttling per stage (requests per second and burst), and the API function's size.
API_STAGE = "v1"
API_RATE_LIMIT = sizing.API_RATE_LIMIT
API_BURST_LIMIT = sizing.API_BURST_LIMIT
API_MEMORY_MB = sizing.API_MEMORY_MB
API_TIMEOUT = Duration.seconds(10)
API_ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# Container workers (``runtime="container"``): Fargate on arm64, built from the project's
# Dockerfile; the service scales on backlog per task, aiming to clear a backlog within
# this many seconds at the worker's declared throughput (target = throughput x this).
CONTAINER_ARCHITECTURE = "ARM64"
CONTAINER_DOCKERFILE = "Dockerfile"
CONTAINER_BACKLOG_SECONDS = sizing.CONTAINER_BACKLOG_SECONDS
CONTAINER_HEALTH_FILE = "/tmp/sluice-work.alive"
CONTAINER_HEALTH_MAX_AGE_S = 60
CONTAINER_DRAIN_S = 25
"""``sluice work --drain-s``: under the container's stop timeout, so the drain finishes."""
CONTAINER_STOP_TIMEOUT = Duration.seconds(30)
CONTAINER_SCALE_IN_COOLDOWN = Duration.minutes(5)
CONTAINER_SCALE_OUT_COOLDOWN = Duration.minutes(1)

# The one code asset holds the app's packages (``App.code``) and exactly these pieces of the
# framework (relative to the folder holding the ``sluice`` package): what a function imports.
FRAMEWORK_SHIPPED = (
    "sluice/__init__.py",
    "sluice/core",
    "sluice/publisher",
    "sluice/runtime",
    "sluice/sessions.py",
)
API_SHIPPED = ("sluice/rpc",)
"""Shipped too when the app declares an API: its entry answers direct calls (DirectInvoke)."""
# Folders never shipped, wherever they are: raw AWS event samples are test fixtures, not code.
NOT_SHIPPED = frozenset({"samples", "__pycache__"})
