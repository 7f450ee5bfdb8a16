"""The engine's agenda: events in one heap ordered by ``(time, sequence)``.

Created before the engine, so the parts that schedule deferred effects (the
quiet-call oracle) get ``at`` without reaching into the engine.

Scripted calls that are due at the same instant may share one entry, a
``Herd`` (``join``): a member joins the herd of its instant only while
nothing else was pushed at that instant since the herd was made, so playing
the herd's members in order is playing their events in ``(time, sequence)``
order, as if each had its own.

Callbacks and scripted members (``at``, ``solo``) are nearly always due one
latency after the instant they are pushed at, so each is due no earlier than
the one pushed before it: those wait in a first-in, first-out ``lane`` beside
the heap instead of sifting through it, and the engine takes whichever of
the two fronts comes first by ``(time, sequence)``. One due earlier than the
lane's last goes to the heap, so the order is the same either way.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable

ARRIVAL = 0
RESUME = 1
CALLBACK = 2
HERD = 3
SOLO = 4

Event = tuple[float, int, int, object, object]
"""``(time, sequence, kind, subject, reply)``: the sequence keeps ties in push order.
A ``SOLO`` event is one scripted member: its ``reply`` is the player called with the
instant and the member."""


class Herd:
    """Members due at one instant, in the order their own events would have been pushed."""

    __slots__ = ("members", "play")

    def __init__(self, play: Callable[[float, list[object]], None], first: object) -> None:
        self.play = play  # called with the instant and the members, in order
        self.members = [first]


class EventQueue:
    """Pending arrivals, resumptions, callbacks and herds of one run."""

    __slots__ = ("_open", "_seq", "callbacks", "heap", "lane")

    def __init__(self) -> None:
        self.heap: list[Event] = []
        self.lane: deque[Event] = deque()  # events pushed in time order (``_push_in_order``)
        self._seq = itertools.count()
        self.callbacks = 0  # ``at`` actions not yet run
        self._open: dict[float, Herd] = {}  # the herd a member due then may still join

    def push(self, t: float, kind: int, subject: object, reply: object = None) -> None:
        if self._open:  # an event at ``t`` after a herd: later members come after it
            self._open.pop(t, None)
        heapq.heappush(self.heap, (t, next(self._seq), kind, subject, reply))

    def _push_in_order(self, t: float, kind: int, subject: object, reply: object = None) -> None:
        """``push``, into the lane when no event there is due after ``t``."""
        if self._open:
            self._open.pop(t, None)
        lane = self.lane
        entry = (t, next(self._seq), kind, subject, reply)
        if lane and t < lane[-1][0]:
            heapq.heappush(self.heap, entry)
        else:
            lane.append(entry)

    def at(self, t: float, action: Callable[[], None]) -> None:
        """Run ``action`` when the clock reaches ``t`` (for oracles' deferred effects)."""
        self.callbacks += 1
        self._push_in_order(t, CALLBACK, action)

    def solo(self, t: float, member: object, play: Callable[[float, object], None]) -> None:
        """Have ``play(t, member)`` see ``member`` at ``t``, after everything pushed so far
        (one member on its own: no herd to make)."""
        self._push_in_order(t, SOLO, member, play)

    def join(self, t: float, member: object, play: Callable[[float, list[object]], None]) -> Herd:
        """Have ``play(t, members)`` see ``member`` at ``t``, after everything pushed so far.

        ``member`` joins the herd of ``t`` made by an earlier ``join`` with the
        same ``play`` (the same object) when nothing was pushed at ``t`` since; else a new herd
        is pushed. Returns the herd: members appended to it right after, with
        nothing pushed at ``t`` in between, come after ``member``.
        """
        herd = self._open.get(t)
        if herd is not None and herd.play is play:
            herd.members.append(member)
            return herd
        herd = Herd(play, member)
        self.push(t, HERD, herd)
        self._open[t] = herd
        return herd

    def close(self, t: float, herd: Herd) -> None:
        """``herd`` is being played: members due at ``t`` from now on come after it."""
        if self._open.get(t) is herd:
            del self._open[t]
