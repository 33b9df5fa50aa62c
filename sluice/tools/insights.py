"""``sluice trace --aws``: the same hops, from CloudWatch Logs Insights over every function's logs.

Two queries over the stack's log groups (its workers' and its API's, those that exist):

1. which requests the id names: lines whose ``correlation_id``, ``event_id`` or any other
   ``*id`` field is the id (an id the API logged next to its correlation id, say);
2. every line of those requests, oldest first.

Logs Insights bills by data scanned ($0.005 per GB at the us-east-1 list price), so the
time range (``since``) is what a trace costs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sluice.runtime import ConfigurationError, Runtime
from sluice.topology import Topology

SAFE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,200}$")
MAX_GROUPS = 50
"""StartQuery takes at most 50 log groups."""
MAX_REQUESTS = 20
LIMIT = 10_000
_DONE = "Complete"
_FAILED = ("Failed", "Cancelled", "Timeout", "Unknown")


def resolve_query(wanted: str) -> str:
    """Query 1: the correlation ids of the lines with ``wanted`` in an ``*id`` field."""
    pattern = re.sub(r"([./+])", r"\\\1", wanted)
    return (
        "fields correlation_id\n"
        f'| filter correlation_id = "{wanted}" or event_id = "{wanted}" '
        f'or @message like /"[A-Za-z_]*id":\\s*"{pattern}"/\n'
        "| stats count(*) as lines by correlation_id\n"
        f"| limit {MAX_REQUESTS}"
    )


def hops_query(correlation_ids: list[str]) -> str:
    """Query 2: every line of those requests, oldest first."""
    listed = ", ".join(f'"{c}"' for c in correlation_ids)
    return (
        "fields @timestamp, @log, @message\n"
        f"| filter correlation_id in [{listed}]\n"
        "| sort @timestamp asc\n"
        f"| limit {LIMIT}"
    )


def log_groups(topology: Topology) -> list[str]:
    """Every log group the stack declares: each worker's (its function's, and its container
    service's where some stage runs it as a container), and the API's."""
    groups = []
    for spec in topology.registry.specs:
        runtimes = topology.app.runtimes_of(spec)
        if Runtime.LAMBDA in runtimes:
            groups.append(topology.log_group(spec.name))
        if Runtime.CONTAINER in runtimes:
            groups.append(topology.container_log_group(spec.name))
    if topology.app.api is not None:
        groups.append(topology.log_group(topology.app.api.name))
    return groups


def records(results: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
    """The JSON log records of a GetQueryResults answer, stamped with ``ts`` and ``worker``."""
    found = []
    for row in results:
        fields = {f["field"]: f.get("value", "") for f in row}
        try:
            record = json.loads(fields.get("@message", ""))
        except ValueError:
            continue  # START/END/REPORT lines and other plain text
        if not isinstance(record, dict):
            continue
        record.setdefault("ts", _epoch(fields["@timestamp"]))
        record.setdefault("worker", record.get("service", "-"))
        found.append(record)
    return found


class Insights:
    """Runs Logs Insights queries over the stack's log groups and waits for their answers."""

    def __init__(
        self,
        logs: Any,
        topology: Topology,
        *,
        sleep: Callable[[float], None] = time.sleep,
        poll_s: float = 1.0,
        timeout_s: float = 120.0,
    ) -> None:
        self.logs = logs
        self.topology = topology
        self.sleep = sleep
        self.poll_s = poll_s
        self.timeout_s = timeout_s

    def trace(
        self, wanted: str, since: timedelta, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Every log record of the requests ``wanted`` names, within ``since`` of now."""
        if not SAFE_ID.match(wanted):
            raise ConfigurationError(
                f"{wanted!r} is not an id: use letters, digits and . _ : @ / + = - only"
            )
        groups = self.existing_groups()
        end = now or datetime.now(UTC)
        window = (int((end - since).timestamp()), int(end.timestamp()))
        found = self.run(groups, resolve_query(wanted), window)
        cids = sorted({r["correlation_id"] for r in _plain(found) if r.get("correlation_id")})
        if not cids:
            return []
        return records(self.run(groups, hops_query(cids), window))

    def existing_groups(self) -> list[str]:
        """The stack's log groups that exist (a function never invoked has none yet)."""
        prefixes = [
            self.topology.log_group(""),  # /aws/lambda/<prefix>-
            self.topology.container_log_group(""),  # /sluice/containers/<prefix>-
        ]
        paginator = self.logs.get_paginator("describe_log_groups")
        there = {
            group["logGroupName"]
            for prefix in prefixes
            for page in paginator.paginate(logGroupNamePrefix=prefix)
            for group in page.get("logGroups", [])
        }
        groups = [g for g in log_groups(self.topology) if g in there]
        if not groups:
            raise ConfigurationError(
                f"no log group of the stack exists under {' or '.join(p + '*' for p in prefixes)}:"
                " is it deployed in this region, with this --prefix?"
            )
        return groups[:MAX_GROUPS]

    def run(self, groups: list[str], query: str, window: tuple[int, int]) -> list[Any]:
        """Start one query and wait for its rows."""
        query_id = self.logs.start_query(
            logGroupNames=groups,
            startTime=window[0],
            endTime=window[1],
            queryString=query,
            limit=LIMIT,
        )["queryId"]
        waited = 0.0
        while True:
            answer = self.logs.get_query_results(queryId=query_id)
            status = answer.get("status")
            if status == _DONE:
                return list(answer.get("results", []))
            if status in _FAILED:
                raise ConfigurationError(f"the Logs Insights query ended {status}: {query}")
            if waited >= self.timeout_s:
                self.logs.stop_query(queryId=query_id)
                raise ConfigurationError(f"the Logs Insights query took over {self.timeout_s} s")
            self.sleep(self.poll_s)
            waited += self.poll_s


def _plain(results: list[list[dict[str, str]]]) -> list[dict[str, str]]:
    return [{f["field"]: f.get("value", "") for f in row} for row in results]


def _epoch(stamp: str) -> float:
    """``2026-11-30 09:00:00.123`` (UTC, as Logs Insights prints @timestamp) -> epoch seconds."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
