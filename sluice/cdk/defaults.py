"""Every infra default in one place; the constructs only assemble them.

What a worker can tune (memory, timeout, batch size, receives) lives on its ``@worker``
declaration instead; this module holds what is the same for the whole pipeline.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

# Lambda: one runtime and one architecture for every function, and the layer built to match.
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.12"
PIP_PLATFORM = "manylinux2014_aarch64"
METRICS_NAMESPACE = "Sluice"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
LOG_LEVEL = "INFO"

# Queues and DLQs: a DLQ keeps a message as long as SQS allows, so nobody races a deadline.
DLQ_RETENTION = Duration.days(14)
QUEUE_RETENTION = Duration.days(4)

# Tables hold the business data: they outlive a `cdk destroy`.
TABLE_REMOVAL = RemovalPolicy.RETAIN
TTL_ATTRIBUTE = "expiration"

# Alarms: a DLQ with anything in it is always worth a look.
ALARM_PERIOD = Duration.minutes(1)
QUEUE_AGE_THRESHOLD = Duration.minutes(5)
QUEUE_AGE_PERIODS = 5
ITERATOR_AGE_THRESHOLD = Duration.minutes(1)
ITERATOR_AGE_PERIODS = 5

# API: throttling per stage (requests per second and burst), and the API function's size.
API_NAME = "api"
API_HANDLER = "producers.api.handler"
API_STAGE = "v1"
API_RATE_LIMIT = 100
API_BURST_LIMIT = 200
API_MEMORY_MB = 256
API_TIMEOUT = Duration.seconds(10)
API_ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

# The one code asset holds exactly these (paths relative to the project root).
SHIPPED = ("events", "producers", "workers", "sluice/runtime", "sluice/__init__.py")
# Raw AWS event samples are test fixtures, not code.
NOT_SHIPPED = ("events/samples",)
# Routes whose body must be a JSON object (the function checks it against the contract);
# the routes themselves come from producers.api.routes.ROUTES.
API_BODY_ROUTES = (("POST", "/orders"),)
