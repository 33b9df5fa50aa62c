"""What a million entry events cost, hop by hop, and each worker on Lambda vs Fargate.

Prices are the data file's (us-east-1, list prices, no free tier). Each line names the
prices it could not find, so its figure reads as a floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sluice import sizing
from sluice.app import App
from sluice.capacity.flow import Flow, Stage
from sluice.capacity.model import (
    RELAY_PER_PUBLISH,
    batch_seconds,
    deliveries,
    table_loads,
    task_throughput,
)
from sluice.capacity.profile import API, Profile
from sluice.capacity.quotas import Quotas
from sluice.runtime import Runtime, Source, WorkerSpec

MILLION = 1_000_000
HOUR = 3600.0
GB = 1024.0


@dataclass(frozen=True)
class Cost:
    """Dollars per million entry events on one hop."""

    hop: str
    usd: float
    detail: str
    unfound: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement:
    """One worker on Lambda and on Fargate: per million records, and where they cross."""

    worker: str
    lambda_usd: float
    """Per million records on Lambda (GB-seconds and requests)."""
    fargate_usd: float
    """Per million records on Fargate at this rate (whole tasks, at least min_tasks)."""
    tasks: int
    break_even: float | None
    """Records per second above which Fargate costs less; None if Lambda always does."""
    task_break_even: float
    """Records per second one task must sustain for Fargate to cost less per record."""


def _price(quotas: Quotas, name: str) -> float:
    return quotas.figure(name) or 0.0


def lambda_per_record(spec: WorkerSpec, profile: Profile, quotas: Quotas) -> float:
    """Dollars per record on Lambda: full batches, GB-seconds and one request per batch."""
    seconds = batch_seconds(spec, profile, spec.batch_size)
    gb_s = seconds * spec.memory_mb / GB
    per_batch = gb_s * _price(quotas, "price_lambda_gb_s_arm")
    per_batch += _price(quotas, "price_lambda_requests") / MILLION
    return per_batch / spec.batch_size


def task_per_hour(spec: WorkerSpec, quotas: Quotas) -> float:
    """Dollars an hour for one Fargate task of this worker's size (arm64)."""
    cpu, memory = sizing.fargate_size(spec.memory_mb)
    vcpu = cpu / 1024 * _price(quotas, "price_fargate_vcpu_hour_arm")
    return vcpu + memory / GB * _price(quotas, "price_fargate_gb_hour_arm")


def placement(spec: WorkerSpec, records_s: float, profile: Profile, quotas: Quotas) -> Placement:
    """Lambda vs Fargate for one worker offered ``records_s``."""
    on_lambda = lambda_per_record(spec, profile, quotas)
    hourly = task_per_hour(spec, quotas)
    tasks = max(spec.min_tasks, math.ceil(records_s / task_throughput(spec)))
    fargate = tasks * hourly / HOUR / records_s if records_s > 0 else math.inf
    marginal = hourly / HOUR / task_throughput(spec)
    crossing = spec.min_tasks * hourly / HOUR / on_lambda if marginal < on_lambda else None
    needed = hourly / HOUR / on_lambda
    return Placement(spec.name, on_lambda * MILLION, fargate * MILLION, tasks, crossing, needed)


def costs(app: App, flow: Flow, profile: Profile, quotas: Quotas, rate: float) -> list[Cost]:
    """Per million entry events, every hop that bills."""
    found: list[Cost] = []
    per_event = 1 / rate if rate > 0 else 0.0
    if app.api is not None:
        seconds = profile.ms(API) / 1000
        usd = MILLION * (
            seconds * sizing.API_MEMORY_MB / GB * _price(quotas, "price_lambda_gb_s_arm")
            + _price(quotas, "price_lambda_requests") / MILLION
            + _price(quotas, "price_apigw_requests") / MILLION
        )
        found.append(
            Cost(
                "api",
                usd,
                "API Gateway requests, Lambda requests and GB-s",
                quotas.unfound("price_apigw_requests"),
            )
        )
    for name, load in table_loads(app, flow, profile, rate).items():
        usd = (
            MILLION
            * per_event
            * (
                load.wcu * _price(quotas, "price_ddb_wru")
                + load.rcu * _price(quotas, "price_ddb_rru")
            )
            / MILLION
        )
        found.append(
            Cost(
                f"table {name}",
                usd,
                f"{load.wcu * per_event:.3g} WRU, {load.rcu * per_event:.3g} RRU",
            )
        )
    if flow.published and flow.event is not None:
        publishes = flow.published / RELAY_PER_PUBLISH if flow.entry != "topic" else flow.published
        found.append(
            Cost(
                "sns topic",
                publishes * _price(quotas, "price_sns_publish"),
                f"{publishes:.3g} PublishBatch per event",
                quotas.unfound("price_sns_sqs_delivery"),
            )
        )
    hops_logged = 0.0
    for stage in flow.stages:
        if stage.spec is not None and stage.rate(rate) > 0:
            found.append(_worker_cost(stage, profile, quotas, rate))
        hops_logged += stage.rate(rate) * per_event
    gigabytes = hops_logged * profile.log_kb * MILLION / (1024 * 1024)
    found.append(
        Cost(
            "cloudwatch logs",
            gigabytes * _price(quotas, "price_logs_ingestion"),
            f"{gigabytes:.3g} GB at {profile.log_kb:g} KB per record per hop",
        )
    )
    return found


def _worker_cost(stage: Stage, profile: Profile, quotas: Quotas, rate: float) -> Cost:
    assert stage.spec is not None
    spec = stage.spec
    records = stage.rate(rate) / rate if rate > 0 else 0.0  # per entry event
    delivered = deliveries(stage, profile, rate) / rate if rate > 0 else 0.0
    usd, parts = 0.0, []
    if spec.source.is_queue:
        price = _price(quotas, "price_sqs_fifo" if spec.source.is_fifo else "price_sqs_standard")
        requests = 2 * delivered / spec.batch_size + profile.poison * records  # receive, delete
        usd += requests * price / MILLION
        parts.append(f"{requests:.3g} SQS requests")
    if spec.runtime is Runtime.CONTAINER:
        place = placement(spec, deliveries(stage, profile, rate), profile, quotas)
        usd += place.fargate_usd / MILLION * delivered
        parts.append(f"{place.tasks} Fargate tasks")
    else:
        usd += lambda_per_record(spec, profile, quotas) * delivered
        kind = "stream" if spec.source is Source.STREAM else "SQS"
        parts.append(f"Lambda ({kind}) {delivered / spec.batch_size:.3g} invocations")
    return Cost(f"worker {spec.name}", usd * MILLION, ", ".join(parts))
