"""Finding a period in which the whole run repeats, and replaying its counts.

Armed only when every worker's arrivals repeat exactly (``constant``
traffic): at instants a period apart the engine's pending events and the
probe's state (``quotalab.sim.cycles``) are compared; when two match, later
periods replay the one just played, so its counts are added instead.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Protocol

from quotalab.sim.aggregates import BucketSeries, ClientTally, Latencies
from quotalab.sim.engine_types import Call, CycleProbe, Worker
from quotalab.sim.event_queue import ARRIVAL, RESUME, EventQueue
from quotalab.sim.traffic import PeriodicArrivals, common_period

_PATIENCE = 16  # periods compared one after another before looking less often


class PlayedState(Protocol):
    """What the search reads and moves of the engine playing the run."""

    queue: EventQueue
    workers: list[Worker]
    series: BucketSeries
    latencies: Latencies
    skipped: int

    @property
    def inflight(self) -> int: ...

    @property
    def parked(self) -> bool:
        """True while calls wait on a token refresh."""
        ...


class _Reference:
    """A candidate period start: its snapshot and the counts at that instant."""

    __slots__ = ("at", "latencies", "log", "probe", "skipped", "state", "tallies")

    def __init__(
        self,
        at: float,
        state: Hashable,
        tallies: list[tuple[ClientTally, ClientTally]],
        latencies: dict[int, int],
        probe: object,
        skipped: int,
    ) -> None:
        self.at = at
        self.state = state
        self.tallies = tallies
        self.latencies = latencies
        self.probe = probe
        self.skipped = skipped
        self.log: list[tuple[str, float, int]] = []


class PeriodSearch:
    """Looks at ``check_at`` (``inf``: never again) whether the last period repeats."""

    def __init__(
        self,
        cycles: CycleProbe,
        workers: Sequence[Worker],
        start: float,
        end: float,
        stop_at: float,
    ) -> None:
        self.cycles = cycles
        self.check_at = math.inf
        self._period_s = 0.0
        self._per_period: list[int] = []
        self._last_skip_at = -math.inf  # no skipped period may reach past this
        self._retry_periods = 1
        self._misses = 0  # periods compared that did not repeat
        self._busy_since: float | None = None  # looking for an instant whose calls can be described
        self._positions: dict[int, int] = {}  # id(worker) -> its index, in snapshots
        self._reference: _Reference | None = None
        found = common_period([w.arrivals for w in workers], start, stop_at)
        if found is None:
            return
        self._period_s = float(found[0])
        self._positions = {id(worker): i for i, worker in enumerate(workers)}
        self._per_period = found[1]
        gaps = max(self._period_s / n for n in found[1])
        # Arrivals are scheduled one ahead: a skipped period must leave the next
        # arrival of every worker before the end, as in the recorded period.
        self._last_skip_at = end - gaps
        self.check_at = start

    @property
    def armed(self) -> bool:
        """Whether it will look again (every worker's arrivals repeat, and it has not given up)."""
        return self.check_at != math.inf

    def look(self, played: PlayedState, following: float) -> None:
        """At ``check_at`` (all events up to it played, the next at ``following``)."""
        at, period = self.check_at, self._period_s
        if at + 2 * period > self._last_skip_at:
            self._drop_reference(played)
            self.check_at = math.inf
            return
        callbacks = played.queue.callbacks
        state = None if callbacks else self._snapshot(played, at)
        if state is None and (played.inflight or callbacks):
            # Calls in flight that cannot be described (a sleep, a parked call):
            # a repeating system has a better instant each period. Look event by
            # event for up to a period, then wait longer and longer.
            self._drop_reference(played)
            if self._busy_since is None:
                self._busy_since = at
            if following - self._busy_since <= period:
                self.check_at = following
            else:
                self._busy_since = None
                self._wait_longer(at)
            return
        self._busy_since = None
        if state is None:
            self._drop_reference(played)
            self._wait_longer(at)
            return
        reference = self._reference
        if reference is not None:
            if (
                reference.at + period == at
                and reference.state == state
                and reference.skipped == played.skipped
            ):
                periods = min(
                    math.floor((self._last_skip_at - at) / period) - 1,
                    self.cycles.periods_left(reference.probe, at, period),
                )
                if periods >= 1:
                    self._replay(played, reference, periods)
                    self._drop_reference(played)
                    self._retry_periods = 1
                    self._misses = 0
                    self.check_at = at + periods * period
                    return
            self._misses += 1
            if self._misses > _PATIENCE:  # still settling after many periods
                self._drop_reference(played)
                self._wait_longer(at)
                return
        tallies = {id(w.tally): w.tally for w in played.workers}.values()
        self._reference = _Reference(
            at,
            state,
            [(tally, tally.copy()) for tally in tallies],
            dict(played.latencies.counts),
            self.cycles.baseline(),
            played.skipped,
        )
        played.series.log = self._reference.log
        self.check_at = at + period

    def _wait_longer(self, at: float) -> None:
        """Look again later, twice as late each time (a system that never repeats costs little)."""
        self.check_at = at + self._retry_periods * self._period_s
        self._retry_periods = min(2 * self._retry_periods, 256)

    def _drop_reference(self, played: PlayedState) -> None:
        self._reference = None
        played.series.log = None

    def _snapshot(self, played: PlayedState, at: float) -> Hashable | None:
        """Pending arrivals and calls in flight, and the probe's part, relative to ``at``."""
        if played.parked:
            return None
        if played.queue.lane:  # callbacks and scripted members: nothing a probe describes
            return None
        probe = self.cycles.snapshot(at)
        if probe is None:
            return None
        position = self._positions
        pending: list[Hashable] = []
        for t, _, kind, subject, reply in sorted(played.queue.heap):
            if kind == ARRIVAL:
                assert isinstance(subject, Worker)
                pending.append((t - at, position[id(subject)]))
                continue
            if kind != RESUME:
                return None
            assert isinstance(subject, Call)
            history = subject.history
            if not history or reply is not history[-1][2]:
                return None  # resuming from a sleep
            strategy = subject.worker.group.strategy
            described = self.cycles.call_state(strategy, history, t, at)
            if described is None:
                return None
            worker = position[id(subject.worker)]
            pending.append(
                (t - at, worker, subject.started_at - at, subject.token_pending, described)
            )
        return tuple(pending), probe

    def _replay(self, played: PlayedState, reference: _Reference, periods: int) -> None:
        """Count ``periods`` repeats of the period that just ended and move on."""
        period = self._period_s
        shift = periods * period
        calls = 0
        for tally, before in reference.tallies:
            delta = tally.since(before)
            tally.merge(delta, periods)
            calls += delta.calls
        counts = played.latencies.counts
        for ms, n in list(counts.items()):
            grown = n - reference.latencies.get(ms, 0)
            if grown:
                counts[ms] = n + grown * periods
        played.series.add_repeats(reference.log, period, periods)
        self.cycles.advance(reference.probe, periods, period)
        # Pending arrivals and calls in flight move on by whole periods; their
        # order, hence the heap, stays.
        heap = played.queue.heap
        assert not played.queue.lane  # the snapshots found nothing there (``_snapshot``)
        heap[:] = [(t + shift, seq, kind, s, r) for t, seq, kind, s, r in heap]
        for _, _, kind, call, _ in heap:
            if kind == RESUME:
                assert isinstance(call, Call)
                call.started_at += shift
                call.history = [(p, sent + shift, answer) for p, sent, answer in call.history]
        for worker, per in zip(played.workers, self._per_period, strict=True):
            assert isinstance(worker.arrivals, PeriodicArrivals)  # common_period checked
            worker.arrivals.skip(per * periods)
        played.skipped += calls * periods
