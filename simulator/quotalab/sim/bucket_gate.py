"""Following one worker's token buckets through a stretch of quiet calls, exactly.

A quiet call must be admitted by every limit of its API endpoint.
``TokenBucketGate`` starts from each bucket's stored state and expiry and
decides every call with the bucket's own pure ``TokenBucket.decide``, on the
provider's (skewed) clock, applying the store's idle-TTL rule as
``MemoryStore`` does (a key whose expiry has passed decides as a fresh one).
So it admits exactly the calls event-by-event play admits, and refuses the
first one event-by-event play would throttle: the stretch ends before it.

What to write back: a call that finds every bucket full leaves each at
``(burst - 1, its time)`` whatever came before, and the store's own state,
which the skipped calls only ever took tokens from, is at least as full then
(or as fresh). Replaying through the real store, at the end, the calls from
the last one that found every bucket full onwards therefore leaves exactly
the states and expiries event-by-event play leaves. After a call that found
them full, a call at least ``min_gap_s`` later finds them full again, so the
counting loop admits such calls without asking the gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from quotalab.limits import State, TokenBucket

MAX_REPLAY_CALLS = 1024
"""A stretch ends once this many calls would need replaying (memory stays flat)."""

_SKEW_MARGIN_S = 1e-6
"""Added to ``min_gap_s`` under clock skew: adding the skew to two engine times
may shrink their difference by one ulp (under 1e-6 s below 2**33 s)."""


@dataclass(frozen=True, slots=True)
class BucketStart:
    """A bucket of the endpoint and its store key's state when the stretch begins.

    ``state`` is None and ``expires_at`` minus infinity when the store holds no
    such key.
    """

    bucket: TokenBucket
    state: State | None
    expires_at: float


def full_again_gap_s(bucket: TokenBucket) -> float:
    """The shortest gap after which a bucket left at ``burst - 1`` is full again.

    ``1 / refill_rate``, moved up by whole ulps until the float arithmetic of
    ``TokenBucket.decide`` itself refills the missing token.
    """
    burst = float(bucket.burst)
    rate = bucket.refill_rate
    gap = 1.0 / rate
    while min(burst, (burst - 1.0) + gap * rate) < burst:
        gap = math.nextafter(gap, math.inf)
    return gap


class TokenBucketGate:
    """Admits one worker's quiet calls as its continuous token buckets would.

    ``offset_s`` is the provider's clock skew: buckets see ``t + offset_s``;
    ``now``, the provider's time, bounds the rounding that adding it costs.
    """

    __slots__ = (
        "_at",
        "_buckets",
        "_expiries",
        "_offset",
        "_replay",
        "_states",
        "full",
        "min_gap_s",
    )

    def __init__(self, starts: Sequence[BucketStart], offset_s: float, now: float) -> None:
        self._buckets = tuple(start.bucket for start in starts)
        self._states = [start.state for start in starts]
        self._expiries = [start.expires_at for start in starts]
        self._offset = offset_s
        self._at = -math.inf  # engine time of the last call this gate decided itself
        self._replay: list[float] = []  # engine times from the last call that found all full
        self.full = False  # the last call admitted found every bucket full
        # After a call that found every bucket full, a call this much later does too.
        gap = max((full_again_gap_s(b) for b in self._buckets), default=0.0)
        if offset_s:
            gap = gap + _SKEW_MARGIN_S if abs(now) + abs(offset_s) < 2.0**32 else math.inf
        self.min_gap_s = gap

    def admit(self, t: float, last: float) -> bool:
        """Decide a call at engine time ``t``; False: a bucket refuses it (nothing changes).

        ``last`` is the previous call of the stretch (minus infinity for none); the
        calls after the last one this gate decided were admitted by the
        ``min_gap_s`` rule, so each found every bucket full.
        """
        if last != self._at:
            self._fast_forward_to(last)
        p = t + self._offset
        states = self._states
        expiries = self._expiries
        decided: list[State] = []
        full = True
        for i, bucket in enumerate(self._buckets):
            live = states[i] if expiries[i] > p else None  # MemoryStore's _live_state
            state, decision = bucket.decide(live, p)
            if not decision.allowed:
                return False
            decided.append(state)
            full = full and state == (float(bucket.burst) - 1.0, p)
        if not full and len(self._replay) >= MAX_REPLAY_CALLS:
            return False
        for i, bucket in enumerate(self._buckets):
            states[i] = decided[i]
            expiries[i] = max(expiries[i], p + bucket.idle_ttl_s)
        if full:
            self._replay.clear()
        self._replay.append(t)
        self._at = t
        self.full = full
        return True

    def replay_at(self, last: float) -> list[float]:
        """The calls to apply, each at its own time, for the stretch ending at ``last``.

        Engine times: the buckets see them plus the skew.
        """
        if last != self._at:
            self._fast_forward_to(last)
        return list(self._replay)

    def _fast_forward_to(self, last: float) -> None:
        """Every bucket as the call at ``last``, which found them all full, left it."""
        p = last + self._offset
        for i, bucket in enumerate(self._buckets):
            self._states[i] = (float(bucket.burst) - 1.0, p)
            self._expiries[i] = max(self._expiries[i], p + bucket.idle_ttl_s)
        self._replay = [last]
        self._at = last
