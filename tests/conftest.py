"""Shared test settings: hypothesis profiles and the virtual clock fixture."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from quotalab.clock import VirtualClock

settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock standing at a fixed instant."""
    return VirtualClock()
