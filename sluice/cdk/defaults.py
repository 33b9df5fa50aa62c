"""Every infra default in one place; the constructs only assemble them.

What a worker can tune (memory, timeout, batch size, receives) lives on its ``@worker``
declaration, and what an app names (tables, keys, TTL, API handler and routes) on its
``App``; this module holds what is the same for every app and the whole pipeline.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

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
ALARM_PERIOD = Duration.minutes(1)
QUEUE_AGE_THRESHOLD = Duration.minutes(5)
QUEUE_AGE_PERIODS = 5
ITERATOR_AGE_THRESHOLD = Duration.minutes(1)
ITERATOR_AGE_PERIODS = 5
# A dead letter nobody has looked at for this long pages again (SQS stops reporting an idle
# queue's depth after about 6 hours, so the depth alarm alone cannot be trusted to stay on).
DLQ_AGE_THRESHOLD = Duration.hours(12)

# Schedules: EventBridge Scheduler retries a failed send with backoff, then dead-letters it;
# an event an hour late is dead-lettered rather than delivered.
SCHEDULE_RETRY_ATTEMPTS = 10
SCHEDULE_MAX_EVENT_AGE = Duration.hours(1)

# API: throttling per stage (requests per second and burst), and the API function's size.
API_STAGE = "v1"
API_RATE_LIMIT = 100
API_BURST_LIMIT = 200
API_MEMORY_MB = 256
API_TIMEOUT = Duration.seconds(10)
API_ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# The one code asset holds the app's packages (``App.code``) and exactly these pieces of the
# framework (relative to the folder holding the ``sluice`` package): what a function imports.
FRAMEWORK_SHIPPED = ("sluice/__init__.py", "sluice/core", "sluice/publisher", "sluice/runtime")
# Folders never shipped, wherever they are: raw AWS event samples are test fixtures, not code.
NOT_SHIPPED = frozenset({"samples", "__pycache__"})
