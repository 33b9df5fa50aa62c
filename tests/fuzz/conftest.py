"""Hypothesis profiles for the fuzz tier.

``ci`` (the default, what ``make test`` runs): few examples, derandomized, so every run
tries the same inputs and the tier stays well under a minute. ``fuzz`` (``make fuzz``):
many random examples; set ``SLUICE_FUZZ_EXAMPLES`` to change how many. Every failing
example found becomes a named case in ``tests/badinput``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]

_COMMON = {"deadline": None, "print_blob": True, "suppress_health_check": _SLOW}
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("SLUICE_FUZZ_EXAMPLES", "15")),
    derandomize=True,
    database=None,
    **_COMMON,
)
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("SLUICE_FUZZ_EXAMPLES", "1000")), **_COMMON
)
settings.load_profile(os.environ.get("SLUICE_FUZZ_PROFILE", "ci"))
