"""The injected throttles are real throttles to botocore: retried by its own retry handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.chaos.hooks import Throttles

CALLS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "dynamodb": ("ProvisionedThroughputExceededException", lambda c: c.list_tables()),
    "sqs": ("ThrottlingException", lambda c: c.list_queues()),
    "sns": ("Throttling", lambda c: c.list_topics()),
}


@pytest.mark.parametrize("service", sorted(CALLS))
def test_every_request_throttled_is_retried_then_raised_as_the_service_error(
    service: str,
) -> None:
    # GIVEN a client whose every request is throttled (nothing listens on port 9)
    throttles = Throttles(rate=1.0)
    session = botocore.session.get_session()
    session.set_credentials("chaos", "chaos")
    for event_name, hook in throttles.hooks():
        session.register(event_name, hook)
    retries = {"mode": "standard", "total_max_attempts": 2}
    client = session.create_client(
        service,
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries=retries),
    )
    code, call = CALLS[service]
    # WHEN it calls THEN botocore retried once, and raised the service's throttling error
    with pytest.raises(ClientError) as caught:
        call(client)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert throttles.injected.counts == {service: 2}


class FakeRequest:
    """What ``before-send`` hands a hook: a URL and a body."""

    def __init__(self, body: bytes) -> None:
        self.url = "http://127.0.0.1:9/"
        self.body = body


def test_throttles_depend_on_the_seed_and_the_request_not_on_thread_order() -> None:
    bodies = [f"request {n}".encode() for n in range(400)]

    def throttled(order: list[bytes], seed: int) -> set[tuple[bytes, int]]:
        throttles, hit, seen = Throttles(rate=0.2, seed=seed), set(), dict[bytes, int]()
        for body in order:
            seen[body] = seen.get(body, 0) + 1
            if throttles._answer(FakeRequest(body), "before-send.sqs.SendMessage") is not None:
                hit.add((body, seen[body]))
        return hit

    twice = bodies + bodies  # every request sent twice: the retry is an independent draw
    first = throttled(twice, seed=4)
    assert first == throttled(list(reversed(bodies)) + list(reversed(bodies)), seed=4)
    assert first != throttled(twice, seed=5)
    assert 0.1 < len(first) / len(twice) < 0.3
    assert {attempt for _, attempt in first} == {1, 2}
