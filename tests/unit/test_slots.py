"""sluice work's places: a receive takes what is free up to its most, a batch gives back at once."""

from __future__ import annotations

import threading
import time

import pytest

from sluice.container.slots import Slots


def test_a_receive_takes_what_is_free_up_to_its_most_and_none_when_all_are_taken() -> None:
    slots = Slots(25)
    assert [slots.take(10, timeout=0) for _ in range(4)] == [10, 10, 5, 0]
    slots.give(3)
    assert slots.take(10, timeout=0) == 3


def test_a_batch_gives_its_places_back_at_once_and_a_waiting_receive_gets_them_all() -> None:
    slots = Slots(10)
    assert slots.take(10, timeout=0) == 10
    got: list[int] = []
    waiting = threading.Thread(target=lambda: got.append(slots.take(10, timeout=5)))
    waiting.start()
    time.sleep(0.05)
    slots.give(10)
    waiting.join(timeout=5)
    assert got == [10]


def test_a_wait_for_a_place_ends_at_its_timeout() -> None:
    slots = Slots(1)
    slots.take(1, timeout=0)
    started = time.monotonic()
    assert slots.take(1, timeout=0.1) == 0
    assert time.monotonic() - started >= 0.09


def test_more_places_given_back_than_taken_is_refused() -> None:
    slots = Slots(4)
    slots.take(2, timeout=0)
    with pytest.raises(ValueError, match="3 places given back, 2 taken"):
        slots.give(3)
