"""Aggregates of a simulation: per-client counts, time series buckets, latencies.

Nothing here keeps a record per call, so memory depends on the number of
clients and buckets, never on the number of calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from simulator.wire import HttpResponse, TransportError

SERIES = ("calls", "ok", "failed", "token_requests", "throttled")
"""The per-bucket series: calls started, calls that ended well or badly,
token endpoint requests, and requests answered with a throttle."""


def is_throttled(response: HttpResponse | TransportError) -> bool:
    """A 429, or Twitter's 403 code 99 (its throttle on token negotiation)."""
    if isinstance(response, TransportError):
        return False
    if response.status == 429:
        return True
    return response.status == 403 and b'"code":99' in response.body


def bucket_width_s(duration_s: float) -> float:
    """One-second buckets for short runs, minutes up to two days, then hours."""
    if duration_s <= 600:
        return 1.0
    if duration_s <= 2 * 86400:
        return 60.0
    return 3600.0


@dataclass(slots=True)
class ClientTally:
    """What one client id did and what happened to it."""

    calls: int = 0
    ok: int = 0
    failed: int = 0
    token_requests: int = 0
    token_throttled: int = 0
    api_requests: int = 0
    api_throttled: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def throttled(self) -> int:
        """Requests of either purpose that the provider throttled."""
        return self.token_throttled + self.api_throttled


class Series:
    """Fixed-width buckets from ``start``: one list of counts per series name."""

    __slots__ = ("buckets", "start", "values", "width_s")

    def __init__(self, start: float, span_s: float, width_s: float) -> None:
        self.start = start
        self.width_s = width_s
        self.buckets = max(1, math.ceil(span_s / width_s))
        self.values: dict[str, list[int]] = {name: [0] * self.buckets for name in SERIES}

    def index(self, t: float) -> int:
        """The bucket holding ``t`` (events after the last bucket go into it)."""
        i = int((t - self.start) // self.width_s)
        return i if i < self.buckets else self.buckets - 1

    def add(self, name: str, t: float, amount: int = 1) -> None:
        self.values[name][self.index(t)] += amount


class Latencies:
    """A histogram of call durations in whole milliseconds."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

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
