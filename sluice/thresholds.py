"""What every alarm fires on, as plain numbers: the CDK alarms and ``sluice top`` read them here.

Each alarm compares a metric's statistic over ``ALARM_PERIOD_S`` with ``threshold`` (greater
than fires), for the given number of consecutive periods.
"""

from __future__ import annotations

ALARM_PERIOD_S = 60
DLQ_VISIBLE = 0
"""A DLQ with more visible messages than this (anything at all) alarms after one period."""
DLQ_AGE_S = 12 * 3600
"""A dead letter left this long pages again (SQS stops reporting an idle queue's depth)."""
QUEUE_AGE_S = 5 * 60
QUEUE_AGE_PERIODS = 5
"""The oldest message of a worker's queue waits longer than this, five minutes running."""
ITERATOR_AGE_S = 60
ITERATOR_AGE_PERIODS = 5
"""A stream worker is this far behind its stream, five minutes running."""
FUNCTION_ERRORS = 0
FUNCTION_THROTTLES = 0
"""Failed or throttled invocations in a period: any at all alarm."""
