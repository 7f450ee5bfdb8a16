"""Rate-limit algorithms as pure functions of ``(state, now, cost)``.

No algorithm reads a clock or touches storage: a ``Store`` hands them the
stored state and saves what they return, atomically.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from simulator.limits.decision import Decision, State

RefillMode = Literal["continuous", "interval"]
Period = Literal["hour", "day", "month"]


class Algorithm(Protocol):
    """What a store needs from an algorithm."""

    @property
    def key_prefix(self) -> str:
        """A prefix unique to the algorithm and its parameters."""
        ...

    @property
    def idle_ttl_s(self) -> float:
        """After this long without requests a key's state equals a fresh one."""
        ...

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        """Admit or reject ``cost`` requests at ``now``; return the new state."""
        ...


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """A bucket of ``burst`` tokens refilled at ``refill_rate`` tokens per second.

    ``refill="continuous"`` adds tokens smoothly; ``refill="interval"`` adds
    ``refill_rate * interval_s`` tokens at once at each epoch-aligned interval
    boundary (the two readings of Auth0's documentation).
    """

    burst: int
    refill_rate: float
    refill: RefillMode = "continuous"
    interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")
        if self.refill_rate <= 0:
            raise ValueError(f"refill_rate must be > 0, got {self.refill_rate}")
        if self.interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {self.interval_s}")

    @property
    def key_prefix(self) -> str:
        return f"tb:{self.burst}:{self.refill_rate}:{self.refill}:{self.interval_s}"

    @property
    def idle_ttl_s(self) -> float:
        if self.refill == "continuous":
            return self.burst / self.refill_rate
        per_interval = self.refill_rate * self.interval_s
        return (math.ceil(self.burst / per_interval) + 1) * self.interval_s

    def _refilled(self, state: State | None, now: float) -> float:
        if state is None:
            return float(self.burst)
        tokens, updated_at = state
        if now <= updated_at:
            return tokens
        if self.refill == "continuous":
            return min(float(self.burst), tokens + (now - updated_at) * self.refill_rate)
        boundaries = math.floor(now / self.interval_s) - math.floor(updated_at / self.interval_s)
        if boundaries <= 0:
            return tokens
        return min(float(self.burst), tokens + boundaries * self.refill_rate * self.interval_s)

    def _time_to(self, tokens: float, target: float, now: float) -> float:
        """Seconds from ``now`` until the bucket holds ``target`` tokens."""
        missing = target - tokens
        if missing <= 0:
            return 0.0
        if self.refill == "continuous":
            return missing / self.refill_rate
        per_interval = self.refill_rate * self.interval_s
        next_boundary = (math.floor(now / self.interval_s) + 1) * self.interval_s
        return next_boundary - now + (math.ceil(missing / per_interval) - 1) * self.interval_s

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        tokens = self._refilled(state, now)
        updated_at = now if state is None else max(now, state[1])
        allowed = tokens + 1e-9 >= cost  # tolerate float drift in refill arithmetic
        if allowed:
            tokens = max(0.0, tokens - cost)
        remaining = math.floor(tokens + 1e-9)
        reset_at = now + self._time_to(tokens, float(self.burst), now)
        retry_after = 0.0 if allowed else self._time_to(tokens, float(max(cost, 1)), now)
        decision = Decision(allowed, self.burst, remaining, reset_at, retry_after)
        return (tokens, updated_at), decision


@dataclass(frozen=True, slots=True)
class FixedWindow:
    """At most ``limit`` requests per window of ``window_s`` seconds.

    ``align="first_hit"`` starts a window at the first request after the last
    one ended (Twitter's per-token 15-minute windows); ``align="epoch"`` uses
    windows aligned to multiples of ``window_s`` since the epoch.
    """

    limit: int
    window_s: float
    align: Literal["first_hit", "epoch"] = "first_hit"

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {self.window_s}")

    @property
    def key_prefix(self) -> str:
        return f"fw:{self.limit}:{self.window_s}:{self.align}"

    @property
    def idle_ttl_s(self) -> float:
        return self.window_s

    def _window_start(self, state: State | None, now: float) -> tuple[float, float]:
        if state is not None and now < state[0] + self.window_s:
            return state
        if self.align == "epoch":
            return (math.floor(now / self.window_s) * self.window_s, 0.0)
        return (now, 0.0)

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        start, count = self._window_start(state, now)
        reset_at = start + self.window_s
        allowed = count + cost <= self.limit
        if allowed:
            count += cost
        remaining = max(0, self.limit - int(count))
        retry_after = 0.0 if allowed else max(0.0, reset_at - now)
        return (start, count), Decision(allowed, self.limit, remaining, reset_at, retry_after)


def period_bounds(period: Period, now: float) -> tuple[float, float]:
    """The UTC calendar hour, day or month holding ``now``, as epoch seconds."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    if period == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start.timestamp(), start.timestamp() + 3600.0
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp(), start.timestamp() + 86400.0
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(start.year, start.month)[1]
    return start.timestamp(), start.timestamp() + days * 86400.0


@dataclass(frozen=True, slots=True)
class CounterQuota:
    """At most ``limit`` requests per UTC calendar hour, day or month.

    The monthly M2M token quota of a plan is one of these.
    """

    limit: int
    period: Period = "month"

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"limit must be >= 0, got {self.limit}")

    @property
    def key_prefix(self) -> str:
        return f"cq:{self.limit}:{self.period}"

    @property
    def idle_ttl_s(self) -> float:
        return {"hour": 3600.0, "day": 86400.0, "month": 31 * 86400.0}[self.period]

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        start, end = period_bounds(self.period, now)
        count = state[1] if state is not None and state[0] == start else 0.0
        allowed = count + cost <= self.limit
        if allowed:
            count += cost
        remaining = max(0, self.limit - int(count))
        retry_after = 0.0 if allowed else end - now
        return (start, count), Decision(allowed, self.limit, remaining, end, retry_after)
