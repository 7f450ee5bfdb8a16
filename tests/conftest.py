"""Shared test settings: hypothesis profiles, Ctrl-C as a terminal gives it, and the
virtual clock fixture."""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, settings

from quotalab.clock import VirtualClock

settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
settings.register_profile(
    "dev", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# A shell without job control starts its background jobs with SIGINT ignored, and the
# processes they start inherit that: the tests of what Ctrl-C does need it delivered.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock standing at a fixed instant."""
    return VirtualClock()
