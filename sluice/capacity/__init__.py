"""Capacity on paper and in simulation: the declared pipeline under a load profile.

``report.analyse`` answers per hop (offered load, limit, utilisation, the knob, the cost);
``simulation.simulate`` plays the same profile through the topology in time (SimPy).
Every AWS figure comes from ``quotas.toml``, with its source.
"""

from sluice.capacity.profile import Profile
from sluice.capacity.quotas import Quota, Quotas, load
from sluice.capacity.report import Report, analyse

__all__ = ["Profile", "Quota", "Quotas", "Report", "analyse", "load"]
