"""The engine's agenda: events in one heap ordered by ``(time, sequence)``.

Created before the engine, so the parts that schedule deferred effects (the
quiet-call oracle) get ``at`` without reaching into the engine.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

ARRIVAL = 0
RESUME = 1
CALLBACK = 2

Event = tuple[float, int, int, object, object]
"""``(time, sequence, kind, subject, reply)``: the sequence keeps ties in push order."""


class EventQueue:
    """Pending arrivals, resumptions and callbacks of one run."""

    __slots__ = ("_seq", "callbacks", "heap")

    def __init__(self) -> None:
        self.heap: list[Event] = []
        self._seq = itertools.count()
        self.callbacks = 0  # ``at`` actions not yet run

    def push(self, t: float, kind: int, subject: object, reply: object = None) -> None:
        heapq.heappush(self.heap, (t, next(self._seq), kind, subject, reply))

    def at(self, t: float, action: Callable[[], None]) -> None:
        """Run ``action`` when the clock reaches ``t`` (for oracles' deferred effects)."""
        self.callbacks += 1
        self.push(t, CALLBACK, action)
