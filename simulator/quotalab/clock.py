"""Injected time: every component asks a ``Clock`` instead of the wall clock.

``SystemClock`` reads real time; ``VirtualClock`` only moves when told to, so
tests and the simulation can play hours of traffic without sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of the current time in UNIX epoch seconds."""

    def now(self) -> float:
        """Return the current time as epoch seconds."""
        ...


class SystemClock:
    """Real wall-clock time, optionally shifted by ``offset_s`` (clock skew)."""

    __slots__ = ("offset_s",)

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s

    def now(self) -> float:
        return time.time() + self.offset_s


class VirtualClock:
    """A clock that stands still until ``advance`` or ``set`` moves it.

    Thread-safe, and it never moves backwards: tests advance it explicitly.
    """

    __slots__ = ("_lock", "_now")

    DEFAULT_START = 1_800_000_000.0  # 2027-01-15T08:00:00Z: a round, fixed instant

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds})")
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, when: float) -> None:
        """Jump to ``when``, which must not be earlier than now."""
        with self._lock:
            if when < self._now:
                raise ValueError(f"a clock cannot go back: {when} < {self._now}")
            self._now = float(when)


MOVED_BY_EVENTS = (
    "the simulation's clock moves with its events alone: a strategy waits by "
    "yielding Sleep(seconds), and reads the time with now()"
)


class EngineClock(VirtualClock):
    """A ``VirtualClock`` that one thread moves: a simulation's event loop.

    Strategies read it as any clock; only the engine moves it (``move_to``,
    without a lock: it runs once per simulated event; it never goes back).
    ``advance`` and ``set`` raise ``TypeError``: a strategy that moved the time
    itself (a wait written for a ``VirtualClock`` in its own tests) would make
    the report's duration false without a word.
    """

    __slots__ = ()

    def move_to(self, when: float) -> None:
        if when < self._now:
            raise ValueError(f"a clock cannot go back: {when} < {self._now}")
        self._now = float(when)

    def set(self, when: float) -> None:
        raise TypeError(MOVED_BY_EVENTS)

    def advance(self, seconds: float) -> float:
        raise TypeError(MOVED_BY_EVENTS)


class OffsetClock:
    """Another clock shifted by ``offset_s``: a server whose clock is skewed."""

    __slots__ = ("base", "offset_s")

    def __init__(self, base: Clock, offset_s: float = 0.0) -> None:
        self.base = base
        self.offset_s = offset_s

    def now(self) -> float:
        return self.base.now() + self.offset_s

    def at(self, base_time: float) -> float:
        """What this clock reads when the base clock reads ``base_time``."""
        return base_time + self.offset_s
