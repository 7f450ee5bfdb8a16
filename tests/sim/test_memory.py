"""Memory stays flat as the simulated duration grows: the engine keeps no record per call.

The provider here is the toy one (its state does not grow with calls), so
the peak measures the engine, its flows and its aggregates alone; the
benchmark shows the same for the real provider at 8.64 M calls.
"""

from __future__ import annotations

import tracemalloc

from quotalab.clock import VirtualClock
from quotalab.sim.engine import Engine
from tests.sim.test_engine import workers_for
from tests.sim.toy import ToyCachedBackoff, ToyProvider


def peak_bytes(duration_s: float) -> int:
    clock = VirtualClock()
    provider = ToyProvider(clock, ttl_s=86400.0)
    workers = workers_for([ToyCachedBackoff(clock) for _ in range(3)], 1, 2.0, clock.now())
    engine = Engine(provider, clock, workers, duration_s=duration_s, width_s=600.0)
    tracemalloc.start()
    try:
        engine.run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_four_times_the_calls_do_not_take_four_times_the_memory() -> None:
    peak_bytes(60.0)  # warm up
    short, long = peak_bytes(1200.0), peak_bytes(4800.0)  # 7,200 and 28,800 calls
    assert long < 1.5 * short, (short, long)
