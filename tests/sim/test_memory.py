"""Memory stays flat as the simulated duration grows: no record is kept per call."""

from __future__ import annotations

import tracemalloc

from simulator.sim.scenario import SimSettings, run_strategy


def peak_bytes(duration_s: float) -> int:
    settings = SimSettings(clients=1, duration_s=duration_s, rate=1.0)
    tracemalloc.start()
    try:
        run_strategy(settings, "naive")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_four_times_the_calls_do_not_take_four_times_the_memory() -> None:
    # 650 s and 2,600 s both use one-minute buckets; naive runs every call for real.
    run_strategy(SimSettings(clients=1, duration_s=60.0), "naive")  # warm imports and caches
    short, long = peak_bytes(650.0), peak_bytes(2600.0)
    assert long < 1.5 * short, (short, long)
