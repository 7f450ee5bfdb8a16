"""Counting a worker's quiet calls arithmetically, exactly as if they ran.

A quiet call (see ``quotalab.sim.fastforward``) starts at its arrival, ends
``latency_s`` later with a 2xx and changes nothing else. Counting a stretch
of them only needs the bucket each one starts and ends in: the inner loop
walks the arrivals and checks their spacing; bucket arithmetic happens once
per run of calls that share their buckets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from quotalab.sim.aggregates import BucketSeries

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
    last_at: float,
    min_gap_s: float,
    latency_s: float,
) -> QuietStretch:
    """Count calls arriving from ``t`` (the current arrival) up to ``quiet_until``.

    A stretch ends early where two calls come closer than ``min_gap_s`` (the
    previous quiet call started at ``last_at``). Adds each call to the
    ``calls``, ``api_ok`` and ``ok`` series; ``next_arrival`` is the first
    arrival not counted (``t`` itself when none was).
    """
    values = series.values
    calls, ok, api_ok = values["calls"], values["ok"], values["api_ok"]
    start, width, last_bucket = series.start, series.width_s, series.buckets - 1
    latency = latency_s
    last = last_at
    n = 0
    while t < quiet_until and t - last >= min_gap_s:
        # One run: calls whose start and whose end fall in the same buckets.
        i = int((t - start) // width)
        j = int((t + latency - start) // width)
        # Stop a hair before each boundary; calls in that hair go one by one
        # below, indexed exactly as ``BucketSeries.index`` would.
        limit = min(
            quiet_until,
            start + (i + 1) * width - _HAIR_S,
            start + (j + 1) * width - latency - _HAIR_S,
        )
        run = 0
        while t < limit and t - last >= min_gap_s:
            last = t
            t = next(arrivals)
            run += 1
        if run == 0:  # within a hair of a boundary: count this one call alone
            last = t
            t = next(arrivals)
            run = 1
        calls[min(i, last_bucket)] += run
        api_ok[min(i, last_bucket)] += run
        ok[min(j, last_bucket)] += run
        n += run
    return QuietStretch(n, last, t)
