"""Tiny, obviously-correct models of each algorithm in exact arithmetic.

They use ``Fraction`` for time and tokens and ``datetime`` for calendar
periods, so they share no arithmetic with the code under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction


@dataclass
class Verdict:
    """What the model says a request gets."""

    allowed: bool
    remaining: int
    reset_at: Fraction
    retry_after_s: Fraction


class BucketModel:
    """A token bucket holding an exact number of tokens."""

    def __init__(self, burst: int, rate: Fraction, interval_s: Fraction | None) -> None:
        self.burst, self.rate, self.interval_s = burst, rate, interval_s
        self.tokens = Fraction(burst)
        self.updated: Fraction | None = None

    def _boundary(self, t: Fraction) -> int:
        assert self.interval_s is not None
        return math.floor(t / self.interval_s)

    def _at(self, target: int, now: Fraction) -> Fraction:
        """When the bucket holds ``target`` tokens, if nobody takes any."""
        missing = target - self.tokens
        if missing <= 0:
            return now
        if self.interval_s is None:
            return now + missing / self.rate
        per_interval = self.rate * self.interval_s
        return (self._boundary(now) + math.ceil(missing / per_interval)) * self.interval_s

    def request(self, now: Fraction, cost: int) -> Verdict:
        if self.updated is not None:
            if self.interval_s is None:
                gained = (now - self.updated) * self.rate
            else:
                crossed = self._boundary(now) - self._boundary(self.updated)
                gained = crossed * self.rate * self.interval_s
            self.tokens = min(Fraction(self.burst), self.tokens + gained)
        self.updated = now
        allowed = self.tokens >= cost
        if allowed:
            self.tokens -= cost
        retry = Fraction(0) if allowed else self._at(min(cost, self.burst), now) - now
        return Verdict(allowed, math.floor(self.tokens), self._at(self.burst, now), retry)


class WindowModel:
    """Windows of ``window_s``: started by a first hit, or aligned to the epoch."""

    def __init__(self, limit: int, window_s: Fraction, epoch: bool) -> None:
        self.limit, self.window_s, self.epoch = limit, window_s, epoch
        self.start: Fraction | None = None
        self.count = 0

    def request(self, now: Fraction, cost: int) -> Verdict:
        if self.start is None or now >= self.start + self.window_s:
            self.start = math.floor(now / self.window_s) * self.window_s if self.epoch else now
            self.count = 0
        end = self.start + self.window_s
        allowed = self.count + cost <= self.limit
        if allowed:
            self.count += cost
        retry = Fraction(0) if allowed else end - now
        return Verdict(allowed, self.limit - self.count, end, retry)


def _period_of(period: str, now: Fraction) -> tuple[int, ...]:
    moment = datetime.fromtimestamp(math.floor(now), tz=UTC)
    if period == "hour":
        return (moment.year, moment.month, moment.day, moment.hour)
    if period == "day":
        return (moment.year, moment.month, moment.day)
    return (moment.year, moment.month)


def _next_period_start(key: tuple[int, ...]) -> Fraction:
    if len(key) == 2:
        year, month = key
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return Fraction(int(datetime(year, month, 1, tzinfo=UTC).timestamp()))
    start = datetime(*key, tzinfo=UTC).timestamp()  # type: ignore[misc]
    return Fraction(int(start) + (3600 if len(key) == 4 else 86400))


class QuotaModel:
    """A count per named calendar period: (year, month[, day[, hour]])."""

    def __init__(self, limit: int, period: str) -> None:
        self.limit, self.period = limit, period
        self.counts: dict[tuple[int, ...], int] = {}

    def request(self, now: Fraction, cost: int) -> Verdict:
        key = _period_of(self.period, now)
        count = self.counts.get(key, 0)
        allowed = count + cost <= self.limit
        if allowed:
            count = self.counts[key] = count + cost
        end = _next_period_start(key)
        retry = Fraction(0) if allowed else end - now
        return Verdict(allowed, self.limit - count, end, retry)
