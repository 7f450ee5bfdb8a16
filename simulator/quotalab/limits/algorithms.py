"""Rate-limit algorithms as pure functions of ``(state, now, cost)``.

No algorithm reads a clock or touches storage: a ``Store`` hands them the
stored state and saves what they return, atomically. A rejected request
changes no state: every algorithm returns the state it was given (a store
then writes nothing), so a stretch of rejections leaves the limiter exactly
where it was and can be decided, or skipped, without touching storage. The Redis store runs
the same arithmetic in Lua (``redis_scripts.py``); the two are kept
operation-for-operation identical so decisions match bit for bit.

Two tolerances keep "wait as told, then be admitted" true under floating
point: a request up to ``TIME_SLACK_S`` early counts as on time (a client
adding ``retry_after_s`` to an epoch timestamp rounds by up to ~0.25 us), and
``TOKEN_EPSILON`` absorbs drift in fractional token sums.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from quotalab.limits.decision import Decision, State

RefillMode = Literal["continuous", "interval"]
Period = Literal["hour", "day", "month"]

TIME_SLACK_S = 1e-5
"""A request this many seconds before its admission moment counts as on time."""

TOKEN_EPSILON = 1e-9
"""Token sums within this of a whole number count as that number."""

MIN_PERIOD_S = 1e-3
"""The shortest refill interval or window: far above ``TIME_SLACK_S``."""


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

    def shifted(self, state: State, by_s: float) -> State:
        """``state`` as if every request in it had been stamped ``by_s`` seconds later."""
        ...


def _check_cost(cost: int) -> None:
    if cost < 0:
        raise ValueError(f"cost must be >= 0, got {cost}")


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """A bucket of ``burst`` tokens refilled at ``refill_rate`` tokens per second.

    ``refill="continuous"`` adds tokens smoothly; ``refill="interval"`` adds
    ``refill_rate * interval_s`` tokens at once at each epoch-aligned interval
    boundary (the two readings of Auth0's documentation). State is
    ``(tokens, updated_at)``; a key's time never runs backwards, so a request
    stamped earlier than the last one (workers' clocks differ) is decided at
    the later time.
    """

    burst: int
    refill_rate: float
    refill: RefillMode = "continuous"
    interval_s: float = 1.0
    key_prefix: str = field(init=False, repr=False, compare=False)
    _tolerance: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")
        if not self.refill_rate > 0:
            raise ValueError(f"refill_rate must be > 0, got {self.refill_rate}")
        if not self.interval_s >= MIN_PERIOD_S:
            raise ValueError(f"interval_s must be >= {MIN_PERIOD_S:g}, got {self.interval_s}")
        if self.refill not in ("continuous", "interval"):
            raise ValueError(f"refill must be continuous or interval, got {self.refill!r}")
        # Computed once: stores look it up on every decision.
        prefix = f"tb:{self.burst}:{self.refill_rate}:{self.refill}:{self.interval_s}"
        object.__setattr__(self, "key_prefix", prefix)
        object.__setattr__(self, "_tolerance", self.tolerance)

    @property
    def per_interval(self) -> float:
        """Tokens added at each boundary in ``interval`` mode."""
        return self.refill_rate * self.interval_s

    @property
    def tolerance(self) -> float:
        """Tokens a request may be short of and still be admitted (see module doc)."""
        if self.refill == "continuous":
            return TOKEN_EPSILON + self.refill_rate * TIME_SLACK_S
        return TOKEN_EPSILON

    @property
    def admission_slack_s(self) -> float:
        """How long before its computed moment a request may be admitted (its tolerance)."""
        if self.refill == "continuous":
            return TIME_SLACK_S + TOKEN_EPSILON / self.refill_rate
        return TIME_SLACK_S

    @property
    def idle_ttl_s(self) -> float:
        if self.refill == "continuous":
            return self.burst / self.refill_rate
        return (math.ceil(self.burst / self.per_interval) + 1) * self.interval_s

    def _boundary(self, t: float) -> int:
        """Index of the last interval boundary at or before ``t`` (with slack)."""
        return math.floor((t + TIME_SLACK_S) / self.interval_s)

    def _refilled(self, tokens: float, updated_at: float, t: float) -> float:
        if self.refill == "continuous":
            return min(float(self.burst), tokens + (t - updated_at) * self.refill_rate)
        crossed = self._boundary(t) - self._boundary(updated_at)
        if crossed > 0:
            return min(float(self.burst), tokens + crossed * self.per_interval)
        return tokens

    def _wait(self, tokens: float, target: float, t: float) -> float:
        """Seconds after ``t`` until the bucket, holding ``tokens`` at ``t``, holds ``target``.

        A duration rather than an epoch time, so short waits keep full precision.
        """
        if self.refill == "continuous":
            missing = target - tokens
            if missing > 0:
                return missing / self.refill_rate
            return 0.0
        missing = target - tokens - TOKEN_EPSILON
        if missing > 0:
            boundaries = self._boundary(t) + math.ceil(missing / self.per_interval)
            return max(0.0, boundaries * self.interval_s - t)
        return 0.0

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        if cost < 0:
            _check_cost(cost)
        burst = self.burst
        if state is None:
            tokens, t = float(burst), now
        else:
            updated = state[1]
            t = now if now > updated else updated
            if self.refill == "continuous":  # ``_refilled``, inline: every request comes here
                # ``min``, ``max`` written as comparisons here: the same results, in less time
                # than a builtin call (every request comes here).
                full = float(burst)
                tokens = state[0] + (t - updated) * self.refill_rate
                if not tokens < full:
                    tokens = full
            else:
                tokens = self._refilled(state[0], updated, t)
        tolerance = self._tolerance
        allowed = tokens + tolerance >= cost
        if allowed:
            tokens = tokens - cost  # may dip below 0 by < tolerance; never clamped up
        remaining = math.floor(tokens + tolerance)
        if not remaining > 0:
            remaining = 0
        continuous = self.refill == "continuous"
        if continuous:  # ``_wait``, inline
            missing = burst - tokens
            reset_at = t + (missing / self.refill_rate if missing > 0 else 0.0)
        else:
            reset_at = t + self._wait(tokens, float(burst), t)
        retry_after = 0.0
        if not allowed:
            if continuous:
                missing = (cost if cost < burst else burst) - tokens
                wait = missing / self.refill_rate if missing > 0 else 0.0
            else:
                wait = self._wait(tokens, float(min(cost, burst)), t)
            retry_after = (t - now) + wait
            if not retry_after > 0.0:
                retry_after = 0.0
            if state is not None:  # refilling is arithmetic on the stored state: keep it
                return state, Decision(False, self.burst, remaining, reset_at, retry_after)
        return (tokens, t), Decision(allowed, self.burst, remaining, reset_at, retry_after)

    def shifted(self, state: State, by_s: float) -> State:
        """The same tokens, last updated ``by_s`` later: a clock set back refills on time."""
        return (state[0], state[1] + by_s)


@dataclass(frozen=True, slots=True)
class FixedWindow:
    """At most ``limit`` requests per window of ``window_s`` seconds.

    ``align="first_hit"`` starts a window at the first request after the last
    one ended (Twitter's per-token 15-minute windows); ``align="epoch"`` uses
    windows aligned to multiples of ``window_s`` since the epoch. State is
    ``(window_start, count)``.
    """

    limit: int
    window_s: float
    align: Literal["first_hit", "epoch"] = "first_hit"
    key_prefix: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if not self.window_s >= MIN_PERIOD_S:
            raise ValueError(f"window_s must be >= {MIN_PERIOD_S:g}, got {self.window_s}")
        if self.align not in ("first_hit", "epoch"):
            raise ValueError(f"align must be first_hit or epoch, got {self.align!r}")
        # Computed once: stores look it up on every decision.
        object.__setattr__(self, "key_prefix", f"fw:{self.limit}:{self.window_s}:{self.align}")

    @property
    def idle_ttl_s(self) -> float:
        return self.window_s

    def _window(self, state: State | None, now: float) -> tuple[float, float]:
        if state is not None and now + TIME_SLACK_S < state[0] + self.window_s:
            return state
        if self.align == "epoch":
            return (math.floor((now + TIME_SLACK_S) / self.window_s) * self.window_s, 0.0)
        return (now, 0.0)

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        _check_cost(cost)
        start, count = self._window(state, now)
        reset_at = start + self.window_s
        allowed = count + cost <= self.limit
        if allowed:
            count = count + cost
        remaining = max(0, self.limit - int(count))
        retry_after = 0.0 if allowed else max(0.0, (start - now) + self.window_s)
        decision = Decision(allowed, self.limit, remaining, reset_at, retry_after)
        if not allowed and state is not None and state == (start, count):
            return state, decision
        return (start, count), decision

    def shifted(self, state: State, by_s: float) -> State:
        """The same count in a window starting ``by_s`` later (so ending ``by_s`` later)."""
        return (state[0] + by_s, state[1])


def period_bounds(period: Period, now: float) -> tuple[float, float]:
    """The UTC calendar hour, day or month holding ``now``, as epoch seconds."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    if period == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start.timestamp(), start.timestamp() + 3600.0
    if period == "day":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp(), start.timestamp() + 86400.0
    if period == "month":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        days = calendar.monthrange(start.year, start.month)[1]
        return start.timestamp(), start.timestamp() + days * 86400.0
    raise ValueError(f"period must be hour, day or month, got {period!r}")


@dataclass(frozen=True, slots=True)
class CounterQuota:
    """At most ``limit`` requests per UTC calendar hour, day or month.

    The monthly M2M token quota of a plan is one of these. State is
    ``(period_start, count)``; a request stamped in an earlier period than the
    stored one (workers' clocks differ at midnight) counts in the stored one.
    """

    limit: int
    period: Period = "month"
    key_prefix: str = field(init=False, repr=False, compare=False)
    _last: list[tuple[float, float]] = field(
        default_factory=lambda: [(math.inf, -math.inf)], init=False, repr=False, compare=False
    )
    """The period ``bounds`` found last: calendar arithmetic costs more than the rest."""

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"limit must be >= 0, got {self.limit}")
        if self.period not in ("hour", "day", "month"):
            raise ValueError(f"period must be hour, day or month, got {self.period!r}")
        # Computed once: stores look it up on every decision.
        object.__setattr__(self, "key_prefix", f"cq:{self.limit}:{self.period}")

    @property
    def idle_ttl_s(self) -> float:
        return {"hour": 3600.0, "day": 86400.0, "month": 31 * 86400.0}[self.period]

    def bounds(self, now: float) -> tuple[float, float]:
        """The period a request at ``now`` falls in (with the same slack as windows)."""
        t = now + TIME_SLACK_S
        last = self._last[0]  # one tuple, replaced whole: safe under threads
        if last[0] <= t < last[1]:
            return last
        found = self._last[0] = period_bounds(self.period, t)
        return found

    def decide(self, state: State | None, now: float, cost: int = 1) -> tuple[State, Decision]:
        _check_cost(cost)
        start, end = self.bounds(now)
        count = 0.0
        if state is not None and state[0] == start:
            count = state[1]
        elif state is not None and state[0] > start:
            start, end = period_bounds(self.period, state[0])
            count = state[1]
        allowed = count + cost <= self.limit
        if allowed:
            count = count + cost
        remaining = max(0, self.limit - int(count))
        retry_after = 0.0 if allowed else max(0.0, end - now)
        decision = Decision(allowed, self.limit, remaining, end, retry_after)
        if not allowed and state is not None and state == (start, count):
            return state, decision
        return (start, count), decision

    def shifted(self, state: State, by_s: float) -> State:
        """Unchanged: a count belongs to its calendar period, whatever the clock reads."""
        return state
