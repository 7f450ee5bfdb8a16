"""Counting a worker's quiet calls arithmetically, exactly as if they ran.

A quiet call (see ``quotalab.sim.fastforward``) starts at its arrival, ends
``latency_s`` later with a 2xx and changes nothing but counts and the API
endpoint's limits, which a ``QuietGate`` follows. Counting a stretch of them
only needs the bucket each one starts and ends in: the inner loop walks the
arrivals and checks their spacing (after a call that found every limit full,
a call ``min_gap_s`` later finds them full again); a call closer than that
is decided by the gate's exact arithmetic; bucket arithmetic happens once
per run of calls that share their buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from quotalab.sim.aggregates import BucketSeries
from quotalab.sim.engine_types import QuietGate

_HAIR_S = 1e-5  # far above float spacing at epoch magnitudes (~2.4e-7 s)


@dataclass(frozen=True, slots=True)
class QuietStretch:
    """``calls`` quiet calls counted, the last starting at ``last_at``; the next arrival."""

    calls: int
    last_at: float
    next_arrival: float


def count_quiet_calls(
    series: BucketSeries,
    arrivals: Iterator[float],
    t: float,
    quiet_until: float,
    gate: QuietGate,
    latency_s: float,
) -> QuietStretch:
    """Count calls arriving from ``t`` (the current arrival) up to ``quiet_until``.

    A stretch ends early at the first call ``gate`` refuses. Adds each call to
    the ``calls``, ``api_ok`` and ``ok`` series; ``next_arrival`` is the first
    arrival not counted (``t`` itself when none was).
    """
    values = series.values
    calls, ok, api_ok = values["calls"], values["ok"], values["api_ok"]
    start, width, last_bucket = series.start, series.width_s, series.buckets - 1
    latency = latency_s
    min_gap_s = gate.min_gap_s
    last = -math.inf
    full = False  # the last call counted found every limit full
    n = 0
    while t < quiet_until:
        # One run: calls whose start and whose end fall in the same buckets.
        i = int((t - start) // width)
        j = int((t + latency - start) // width)
        run = 0
        if full:
            # Stop a hair before each boundary; calls in that hair go one by
            # one below, indexed exactly as ``BucketSeries.add`` does.
            limit = min(
                quiet_until,
                start + (i + 1) * width - _HAIR_S,
                start + (j + 1) * width - latency - _HAIR_S,
            )
            while t < limit and t - last >= min_gap_s:
                last = t
                t = next(arrivals)
                run += 1
        if run == 0:  # too close to the last call, or within a hair of a boundary
            if not gate.admit(t, last):
                break
            full = gate.full
            last = t
            t = next(arrivals)
            run = 1
        calls[min(i, last_bucket)] += run
        api_ok[min(i, last_bucket)] += run
        ok[min(j, last_bucket)] += run
        n += run
    return QuietStretch(n, last, t)
