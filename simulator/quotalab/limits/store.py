"""Where limiter state lives: the ``Store`` contract and the in-memory store.

A store applies an algorithm to one key atomically: read the state, let the
algorithm decide, write the new state, all under one lock (or one Lua script
for Redis). Idle keys expire once their state equals a fresh one, so memory
stays bounded however many distinct keys pass.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from mypy_extensions import mypyc_attr

from quotalab.limits.algorithms import Algorithm
from quotalab.limits.decision import Decision, State


class Store(Protocol):
    """Atomic, per-key storage for rate-limit state."""

    def apply(self, algorithm: Algorithm, key: str, now: float, cost: int = 1) -> Decision:
        """Decide ``cost`` requests for ``key`` at ``now`` and save the new state."""
        ...

    def peek(self, algorithm: Algorithm, key: str, now: float) -> Decision:
        """What ``key`` looks like at ``now``, without consuming anything."""
        ...

    def shift(self, algorithms: Iterable[Algorithm], by_s: float) -> None:
        """Move the times of every key of ``algorithms`` ``by_s`` seconds later.

        For a caller whose clock was set ``by_s`` ahead (back, when negative):
        each key then decides as if its requests had been stamped by the new
        clock (``Algorithm.shifted``), so setting a clock back never holds a
        key's state in the future.
        """
        ...

    def reset(self) -> None:
        """Forget every key."""
        ...

    def __len__(self) -> int:
        """How many keys are held (expired keys may linger until swept)."""
        ...


class _Entry:
    """One key's state; slots keep a million of them small."""

    __slots__ = ("expires_at", "state")

    def __init__(self, state: State, expires_at: float) -> None:
        self.state = state
        self.expires_at = expires_at


REJECTION_MARGIN_S = 1e-4
"""How much earlier than an algorithm's own admission moment, beyond its admission
slack, ``rejected_until`` ends: far above float spacing at epoch times."""


def _live_state(entry: _Entry | None, now: float) -> State | None:
    """The state ``entry`` decides from at ``now``: none once expired, swept or not."""
    return None if entry is None or entry.expires_at <= now else entry.state


# Compiled (quotalab/compiled_core.toml), a class refuses plain-Python subclasses unless
# it allows them: a store of one's own may extend this one (as a test's failing store does).
@mypyc_attr(allow_interpreted_subclasses=True)
class MemoryStore:
    """The default store: a dict per algorithm, ordered by last use.

    Each algorithm's keys sit in an ``OrderedDict`` moved-to-end on use, so
    the least recently used key is always first; since one algorithm has one
    idle TTL, the first key is also the first to expire, and sweeping is
    amortised O(1) per request. ``apply`` sweeps every algorithm's keys at
    most once per ``SWEEP_EVERY_S`` of store time (sweeping on every request
    cost the 429 path ~7%), so a limit that stops receiving traffic still
    gives its memory back. An expired key not yet swept decides as a fresh
    one (idle TTLs are chosen so that its state is nearly a fresh state
    anyway; a token bucket may lack the admission tolerance).
    """

    SWEEP_EVERY_S = 1.0

    _SHRINK_FROM = 4096
    """Spaces that once held at least this many keys are rebuilt when mostly empty."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spaces: dict[str, OrderedDict[str, _Entry]] = {}
        self._peaks: dict[str, int] = {}
        self._ttls: dict[str, float] = {}  # each space's idle TTL (one algorithm, one TTL)
        self._margins: dict[str, float] = {}  # each space's ``rejected_until`` margin
        self._next_sweep_at = float("-inf")

    def _sweep_locked(self, now: float) -> int:
        removed = 0
        for prefix, space in list(self._spaces.items()):
            before = len(space)
            while space:
                first = next(iter(space.values()))
                if first.expires_at > now:
                    break
                space.popitem(last=False)
            if len(space) == before:
                continue
            removed += before - len(space)
            # A dict never shrinks its table on deletion: after a million keys
            # leave, rebuild (or drop) the space so the memory really goes back.
            peak = self._peaks.get(prefix, 0)
            if not space:
                del self._spaces[prefix]
                self._peaks.pop(prefix, None)
            elif peak >= self._SHRINK_FROM and len(space) * 4 < peak:
                self._spaces[prefix] = OrderedDict(space)
                self._peaks[prefix] = len(space)
        return removed

    def sweep(self, now: float) -> int:
        """Drop every key idle past its algorithm's TTL at ``now``; return how many."""
        with self._lock:
            return self._sweep_locked(now)

    def apply(self, algorithm: Algorithm, key: str, now: float, cost: int = 1) -> Decision:
        prefix = algorithm.key_prefix
        with self._lock:
            if now >= self._next_sweep_at:  # before looking up: it may drop or rebuild spaces
                self._sweep_locked(now)
                self._next_sweep_at = now + self.SWEEP_EVERY_S
            space = self._spaces.get(prefix)
            if space is None:
                space = self._spaces[prefix] = OrderedDict()
                self._ttls[prefix] = algorithm.idle_ttl_s
            entry = space.get(key)
            # An expired key not swept yet decides as a fresh one: sweep timing
            # changes no decision (``_live_state``, inline).
            live = None if entry is None or entry.expires_at <= now else entry.state
            state, decision = algorithm.decide(live, now, cost)
            if live is not None and state == live:
                # A rejection: nothing to save, the expiry stands. (Equal, not the same
                # object: compiled, the state comes back as a new tuple.)
                return decision
            expires_at = now + self._ttls[prefix]
            if entry is None:
                space[key] = _Entry(state, expires_at)
                if len(space) > self._peaks.get(prefix, 0):
                    self._peaks[prefix] = len(space)
            else:
                entry.state = state
                # A request stamped earlier than the last (clocks differ) must
                # not shorten the life of the state it joined.
                if expires_at > entry.expires_at:
                    entry.expires_at = expires_at
                space.move_to_end(key)
            return decision

    def rejected_until(
        self, algorithm: Algorithm, key: str, now: float
    ) -> tuple[float, Decision] | None:
        """Before the instant returned every request of ``key`` is rejected (with the
        decision one would get ``now``); None: a request ``now`` would be admitted.
        At the least that instant is the float after ``now``: a refusal at ``now``
        holds for every request at ``now``.

        Rejections write nothing, so the answer holds until something else
        changes the key (only an admitted request could, and none can be
        before the instant; ``reset`` and ``rewrite`` too). The instant is the
        algorithm's own wait, less its admission slack (``admission_slack_s``)
        and ``REJECTION_MARGIN_S`` for float rounding, and never past the key's
        expiry (an expired key decides as a fresh one).
        """
        prefix = algorithm.key_prefix
        with self._lock:
            space = self._spaces.get(prefix)
            entry = None if space is None else space.get(key)
            if entry is None:
                return None
            live = None if entry.expires_at <= now else entry.state  # ``_live_state``, inline
            decision = algorithm.decide(live, now, 1)[1]
            if decision.allowed:
                return None
            margin = self._margins.get(prefix)
            if margin is None:
                slack = getattr(algorithm, "admission_slack_s", 0.0)
                margin = self._margins[prefix] = REJECTION_MARGIN_S + slack
            until = now + decision.retry_after_s - margin
            if until > entry.expires_at:
                until = entry.expires_at
            if not until > now:  # it admits within the margin: still, ``now`` itself is
                # refused (the same state decides alike), and nothing else comes before
                # the next float (the live key's expiry is after ``now``)
                until = math.nextafter(now, math.inf)
            return until, decision

    def peek(self, algorithm: Algorithm, key: str, now: float) -> Decision:
        with self._lock:
            space = self._spaces.get(algorithm.key_prefix)
            entry = None if space is None else space.get(key)
            return algorithm.decide(_live_state(entry, now), now, 0)[1]

    def shift(self, algorithms: Iterable[Algorithm], by_s: float) -> None:
        with self._lock:
            for algorithm in {a.key_prefix: a for a in algorithms}.values():
                space = self._spaces.get(algorithm.key_prefix)
                for entry in () if space is None else space.values():
                    entry.state = algorithm.shifted(entry.state, by_s)
                    entry.expires_at += by_s  # all of a space alike: their order stands
            self._next_sweep_at += by_s

    def reset(self) -> None:
        with self._lock:
            self._spaces.clear()
            self._peaks.clear()

    def entry(self, algorithm: Algorithm, key: str) -> tuple[State, float] | None:
        """``key``'s state and expiry as held (expired or not); None: not held."""
        with self._lock:
            space = self._spaces.get(algorithm.key_prefix)
            held = None if space is None else space.get(key)
            return None if held is None else (held.state, held.expires_at)

    def entries(self) -> list[tuple[str, str, State, float]]:
        """Every key held, as ``(algorithm key_prefix, key, state, expires_at)``."""
        with self._lock:
            return [
                (prefix, key, entry.state, entry.expires_at)
                for prefix, space in self._spaces.items()
                for key, entry in space.items()
            ]

    def rewrite(
        self,
        change: Callable[[str, str, State, float], tuple[State, float]],
        sweep_shift_s: float = 0.0,
    ) -> None:
        """Replace every key's state and expiry by ``change(prefix, key, state, expires_at)``.

        The simulation uses it to move the whole store later in time when it
        skips periods that repeat; ``sweep_shift_s`` moves the sweep schedule
        along. Keys keep their order, so ``change`` must not reorder expiries.
        """
        with self._lock:
            for prefix, space in self._spaces.items():
                for key, entry in space.items():
                    entry.state, entry.expires_at = change(
                        prefix, key, entry.state, entry.expires_at
                    )
            self._next_sweep_at += sweep_shift_s

    def __len__(self) -> int:
        with self._lock:
            return sum(len(space) for space in self._spaces.values())
