"""Aggregates of a simulation: time series buckets and latencies (counts: ``quotalab.outcomes``).

Nothing here keeps a record per call, so memory depends on the number of
clients and buckets, never on the number of calls.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence

from quotalab.outcomes import (
    AUTH_FAILURE,
    FAULT,
    FORBIDDEN_403_99,
    OK,
    OTHER,
    THROTTLED_429,
    ClientTally,
    answer_kind,
    is_throttled,
)

__all__ = [
    "AUTH_FAILURE",
    "FAULT",
    "FORBIDDEN_403_99",
    "OK",
    "OTHER",
    "SERIES",
    "THROTTLED_429",
    "BucketSeries",
    "ClientTally",
    "Latencies",
    "answer_kind",
    "bucket_width_s",
    "is_throttled",
]

SERIES = ("calls", "ok", "failed", "token_requests", "throttled", "api_ok")
"""The per-bucket series: calls started, calls that ended well or badly,
token endpoint requests, requests answered with a throttle, API 2xx answers."""


def bucket_width_s(duration_s: float) -> float:
    """One-second buckets for short runs, minutes up to two days, then hours."""
    if duration_s <= 600:
        return 1.0
    if duration_s <= 2 * 86400:
        return 60.0
    return 3600.0


class BucketSeries:
    """Fixed-width buckets from ``start``: one list of counts per series name."""

    __slots__ = ("buckets", "log", "start", "values", "width_s")

    def __init__(self, start: float, span_s: float, width_s: float) -> None:
        self.start = start
        self.width_s = width_s
        self.buckets = max(1, math.ceil(span_s / width_s))
        self.values: dict[str, list[int]] = {name: [0] * self.buckets for name in SERIES}
        self.log: list[tuple[str, float, int]] | None = None
        """When a list, every ``add`` is also appended to it (the engine records a period)."""

    def add(self, name: str, t: float, amount: int = 1) -> None:
        # The bucket holding ``t``; events after the last bucket go into it.
        i = int((t - self.start) // self.width_s)
        self.values[name][i if i < self.buckets else self.buckets - 1] += amount
        if self.log is not None:
            self.log.append((name, t, amount))

    def __reduce__(self) -> tuple[Callable[..., BucketSeries], tuple[object, ...]]:
        # Pickled by its fields (a strategy played in another process sends its
        # series back): a compiled class has no default pickling.
        return _restored_series, (self.start, self.width_s, self.buckets, self.values)

    def add_repeats(
        self, log: Sequence[tuple[str, float, int]], period_s: float, copies: int
    ) -> None:
        """Each logged ``add(name, t, amount)`` again at ``t + j * period_s``, j in 1..``copies``.

        The logged times span less than one period. Every time is on the grid
        of ``math.ulp(start)`` in one binade, as are the period and the bucket
        width (``quotalab.sim.cycles``), so buckets are counted exactly in
        whole grid steps: bucket ``b`` gets the copies before its end minus
        those before its start.
        """
        if copies < 1 or not log:
            return
        grid = math.ulp(self.start)
        period = round(period_s / grid)
        width = round(self.width_s / grid)
        by_name: dict[str, list[tuple[int, int]]] = {}
        for name, t, amount in log:
            by_name.setdefault(name, []).append((round((t - self.start) / grid), amount))
        last = self.buckets - 1
        for name, entries in by_name.items():
            repeats = _Repeats(entries, period, copies)
            values = self.values[name]
            first = min(repeats.first // width, last)
            for b in range(first, min(repeats.final // width, last) + 1):
                end = repeats.total * copies if b == last else repeats.before((b + 1) * width)
                values[b] += end - repeats.before(b * width)


def _restored_series(
    start: float, width_s: float, buckets: int, values: dict[str, list[int]]
) -> BucketSeries:
    series = BucketSeries(start, 0.0, width_s)
    series.buckets, series.values = buckets, values
    return series


class _Repeats:
    """Events at grid offsets ``u`` (less than a period apart), copied at ``u + j * period``."""

    __slots__ = ("anchor", "below", "copies", "final", "first", "offsets", "period", "total")

    def __init__(self, entries: list[tuple[int, int]], period: int, copies: int) -> None:
        entries.sort()
        self.period, self.copies = period, copies
        self.anchor = entries[-1][0] - period  # every offset from it is in (0, period]
        self.offsets = [u - self.anchor for u, _ in entries]
        self.below = list(itertools.accumulate((a for _, a in entries), initial=0))
        self.total = self.below[-1]
        self.first = entries[0][0] + period  # the earliest copy
        self.final = entries[-1][0] + copies * period  # the latest copy

    def before(self, x: int) -> int:
        """Copies, weighted by amount, at grid offsets below ``x``."""
        q, s = divmod(x - self.anchor, self.period)
        # An event at offset r in (0, period] has q copies below x if r < s, else q - 1.
        lower = self.below[bisect.bisect_left(self.offsets, s)]
        copies = self.copies
        return lower * min(max(q, 0), copies) + (self.total - lower) * min(max(q - 1, 0), copies)


class Latencies:
    """A histogram of call durations in whole milliseconds."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def __reduce__(self) -> tuple[Callable[..., Latencies], tuple[object, ...]]:
        return _restored_latencies, (self.counts,)  # as ``BucketSeries.__reduce__``

    def add(self, seconds: float, amount: int = 1) -> None:
        ms = round(seconds * 1000.0)
        self.counts[ms] = self.counts.get(ms, 0) + amount

    def quantile_ms(self, q: float) -> float:
        """The smallest duration at or below which a fraction ``q`` of calls ended."""
        total = sum(self.counts.values())
        if total == 0:
            return 0.0
        need = q * total
        seen = 0
        for ms in sorted(self.counts):
            seen += self.counts[ms]
            if seen >= need:
                return float(ms)
        return float(max(self.counts))


def _restored_latencies(counts: dict[int, int]) -> Latencies:
    latencies = Latencies()
    latencies.counts = counts
    return latencies
