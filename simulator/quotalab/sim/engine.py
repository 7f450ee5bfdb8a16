"""The discrete-event engine: strategy flows against a provider on a virtual clock.

Each in-flight API call is a strategy flow (a generator). ``Send`` is answered
by the provider's ``handle`` at the current virtual time and delivered after
``latency_s``; ``Sleep`` schedules the flow's resumption; ``AwaitRefresh``
parks it until the token fetch on that cache completes. Events sit in one
heap ordered by ``(time, sequence)``, so a run is a pure function of its
inputs and seed.

Where an oracle proves that a worker's next calls are *quiet* (served from a
cached token, answered 2xx, changing nothing), the engine counts them
arithmetically instead of running them; see ``quotalab.sim.fastforward``.
Where a probe shows that the whole system repeats itself every period of
``constant`` traffic, the engine replays the period's counts instead of
playing it again; see ``quotalab.sim.cycles``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from quotalab.clock import VirtualClock
from quotalab.errors import StrategyError
from quotalab.sim.aggregates import (
    OK,
    BucketSeries,
    ClientTally,
    Latencies,
    answer_kind,
    bucket_width_s,
    is_throttled,
)
from quotalab.sim.traffic import PeriodicArrivals, common_period
from quotalab.strategies.messages import AwaitRefresh, Flow, Send, Sleep, Strategy
from quotalab.wire import HttpRequest, HttpResponse, TransportError

Exchange = tuple[str, float, HttpResponse | TransportError]
"""One request of a call: its purpose, when it was sent, and the answer."""

_ARRIVAL = 0
_RESUME = 1
_CALLBACK = 2
_HAIR_S = 1e-5  # far above float spacing at epoch magnitudes (~2.4e-7 s)
_PATIENCE = 16  # periods compared one after another before looking less often


class Provider(Protocol):
    """The server core: one request in, one response out, at the clock's time."""

    def handle(self, request: HttpRequest) -> HttpResponse: ...


class ReplyLike(Protocol):
    """A response plus the latency a fault injects before it (``MockProvider.respond``)."""

    @property
    def response(self) -> HttpResponse: ...

    @property
    def latency_s(self) -> float: ...


class CacheGroup:
    """Workers that share one strategy instance, hence one token cache."""

    __slots__ = ("inflight", "strategy")

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy
        self.inflight = 0


class Worker:
    """One process of a client: its arrivals, its API request and its cache group."""

    __slots__ = ("arrivals", "client_id", "group", "index", "request", "tally")

    def __init__(
        self,
        client_id: str,
        index: int,
        group: CacheGroup,
        request: HttpRequest,
        arrivals: Iterator[float],
        tally: ClientTally,
    ) -> None:
        self.client_id = client_id
        self.index = index
        self.group = group
        self.request = request
        self.arrivals = arrivals
        self.tally = tally


class QuietOracle(Protocol):
    """Proves stretches in which a worker's calls cannot change anything."""

    def quiet_until(self, worker: Worker, now: float) -> float:
        """Calls of ``worker`` starting in ``[now, result)`` are quiet (``now``: none)."""
        ...

    def min_gap_s(self, worker: Worker) -> float:
        """Quiet calls must be at least this far apart (else the stretch ends)."""
        ...

    def last_call_at(self, worker: Worker) -> float:
        """When the worker's last quiet call started."""
        ...

    def absorb(self, worker: Worker, calls: int, first_at: float, last_at: float) -> None:
        """Account server-side for ``calls`` skipped quiet calls."""
        ...

    def observe(self, worker: Worker, request: HttpRequest | None, status: int, t: float) -> None:
        """A call ended; ``request`` is its only request if it sent exactly one API request."""
        ...


class CycleProbe(Protocol):
    """What the engine cannot see itself when it looks for a period that repeats."""

    def snapshot(self, now: float) -> Hashable | None:
        """Every input of later decisions, relative to ``now``; None: cannot tell."""
        ...

    def baseline(self) -> object:
        """Counts that ``advance`` will take differences against."""
        ...

    def periods_left(self, baseline: object, now: float, period_s: float) -> int:
        """How many more periods like the one since ``baseline`` may be skipped."""
        ...

    def call_state(
        self, strategy: Strategy, history: Sequence[Exchange], resumes_at: float, now: float
    ) -> Hashable | None:
        """An in-flight call's state relative to ``now``, from what it exchanged; None: unknown.

        The call resumes at ``resumes_at`` with the answer to its last request.
        """
        ...

    def advance(self, baseline: object, periods: int, period_s: float) -> None:
        """Add ``periods`` repeats of the counts since ``baseline``; move state on."""
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


class _Call:
    __slots__ = ("flow", "history", "only_api", "started_at", "token_pending", "worker")

    def __init__(self, flow: Flow, worker: Worker, started_at: float) -> None:
        self.flow = flow
        self.worker = worker
        self.started_at = started_at
        self.token_pending = False
        self.only_api: HttpRequest | None = None
        self.history: list[Exchange] = []  # every request sent and its answer


@dataclass(frozen=True, slots=True)
class EngineResult:
    """Everything a run measured, aggregated."""

    start: float
    duration_s: float
    ended_at: float
    tallies: dict[str, ClientTally]
    series: BucketSeries
    latencies: Latencies
    skipped_calls: int
    events: int


class Engine:
    """Runs workers' calls from ``start`` for ``duration_s`` virtual seconds.

    Calls that began before the end are let finish (up to ``drain_s`` more).
    """

    def __init__(
        self,
        provider: Provider,
        clock: VirtualClock,
        workers: Sequence[Worker],
        *,
        duration_s: float,
        latency_s: float = 0.02,
        drain_s: float = 3600.0,
        width_s: float | None = None,
        oracle: QuietOracle | None = None,
        cycles: CycleProbe | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.provider = provider
        self.clock = clock
        self.workers = list(workers)
        self.start = clock.now()
        self.end = self.start + duration_s
        self.duration_s = duration_s
        self.latency_s = latency_s
        self.stop_at = self.end + drain_s
        self.oracle = oracle
        self.cycles = cycles
        self.progress = progress  # told the fraction of virtual time played, now and then
        width = width_s if width_s is not None else bucket_width_s(duration_s)
        self.series = BucketSeries(self.start, duration_s, width)
        self.latencies = Latencies()
        self.skipped = 0
        self._latest = self.start  # the last instant anything happened, skipped calls included
        self._heap: list[tuple[float, int, int, object, object]] = []
        self._seq = itertools.count()
        self._waiting: dict[int, tuple[object, list[_Call]]] = {}
        self._inflight = 0  # calls started and not finished
        self._callbacks = 0  # ``at`` actions not yet run
        # Looking for repeating periods (``quotalab.sim.cycles``).
        self._period_s = 0.0
        self._per_period: list[int] = []
        self._last_skip_at = -math.inf  # no skipped period may reach past this
        self._check_at = math.inf  # next instant at which to look
        self._retry_periods = 1
        self._misses = 0  # periods compared that did not repeat
        self._busy_since: float | None = None  # looking for an instant whose calls can be described
        self._positions: dict[int, int] = {}  # id(worker) -> its index, in snapshots
        self._reference: _Reference | None = None
        # A provider that also says how much latency a fault adds (MockProvider.respond).
        self._respond: Callable[[HttpRequest], ReplyLike] | None = getattr(
            provider, "respond", None
        )

    def _push(self, t: float, kind: int, subject: object, reply: object = None) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), kind, subject, reply))

    def at(self, t: float, action: Callable[[], None]) -> None:
        """Run ``action`` when the clock reaches ``t`` (for oracles' deferred effects)."""
        self._callbacks += 1
        self._push(t, _CALLBACK, action)

    def run(self) -> EngineResult:
        """Play every event in time order and return the aggregates."""
        for worker in self.workers:
            first = next(worker.arrivals)
            if first < self.end:
                self._push(first, _ARRIVAL, worker)
        self._arm_cycles()
        heap, pop, push, clock = self._heap, heapq.heappop, heapq.heappush, self.clock
        events = 0
        t = self.start
        check_at = self._check_at
        while heap:
            entry = pop(heap)
            t = entry[0]
            if t > self.stop_at:
                t = self.stop_at  # calls still going now are abandoned
                break
            if t > check_at:  # every event up to check_at has been played
                push(heap, entry)
                self._look_for_cycle(t)
                check_at = self._check_at
                continue
            _, _, kind, subject, reply = entry
            events += 1
            if not events & 0xFFFF and self.progress is not None:
                self.progress(min(1.0, (t - self.start) / self.duration_s))
            if t > clock.now():
                clock.set(t)
            if kind == _ARRIVAL:
                assert isinstance(subject, Worker)
                self._arrive(subject, t)
            elif kind == _CALLBACK:
                self._callbacks -= 1
                subject()  # type: ignore[operator]
            else:
                assert isinstance(subject, _Call)
                self._step(subject, reply, t)  # type: ignore[arg-type]
        # Leave the clock where event-by-event play would leave it, so the
        # provider's stats read the same with or without fast-forward.
        ended = max(t, self._latest)
        if ended > clock.now():
            clock.set(ended)
        tallies: dict[str, ClientTally] = {}
        for worker in self.workers:
            tallies.setdefault(worker.client_id, worker.tally)
        return EngineResult(
            self.start,
            self.duration_s,
            ended,
            tallies,
            self.series,
            self.latencies,
            self.skipped,
            events,
        )

    def _arrive(self, worker: Worker, t: float) -> None:
        oracle = self.oracle
        if oracle is not None and worker.group.inflight == 0:
            quiet = min(oracle.quiet_until(worker, t), self.end)
            if quiet > t:
                self._skip(worker, t, quiet, oracle)
                return
        self._start(worker, t)

    def _start(self, worker: Worker, t: float) -> None:
        """Begin one real call at ``t`` and schedule the worker's next arrival."""
        following = next(worker.arrivals)
        if following < self.end:
            self._push(following, _ARRIVAL, worker)
        tally = worker.tally
        tally.calls += 1
        self.series.add("calls", t)
        worker.group.inflight += 1
        self._inflight += 1
        call = _Call(worker.group.strategy.call(worker.request), worker, t)
        self._step(call, None, t)

    def _skip(self, worker: Worker, t: float, quiet: float, oracle: QuietOracle) -> None:
        """Count the quiet calls starting in ``[t, quiet)`` exactly as if they ran.

        Calls are counted a bucket at a time: the inner loop only walks the
        arrivals and checks their spacing; bucket arithmetic happens per run.
        """
        series = self.series
        values = series.values
        calls, ok, api_ok = values["calls"], values["ok"], values["api_ok"]
        start, width, last_bucket = series.start, series.width_s, series.buckets - 1
        latency = self.latency_s
        arrivals = worker.arrivals
        min_gap = oracle.min_gap_s(worker)
        first, last = t, oracle.last_call_at(worker)
        n = 0
        while t < quiet and t - last >= min_gap:
            # One run: calls whose start and whose end fall in the same buckets.
            i = int((t - start) // width)
            j = int((t + latency - start) // width)
            # Stop a hair before each boundary; calls in that hair go one by one
            # below, indexed exactly as ``BucketSeries.index`` would.
            limit = min(
                quiet,
                start + (i + 1) * width - _HAIR_S,
                start + (j + 1) * width - latency - _HAIR_S,
            )
            run = 0
            while t < limit and t - last >= min_gap:
                last = t
                t = next(arrivals)
                run += 1
            if run == 0:  # within a hair of a boundary: count this one call alone
                last = t
                t = next(arrivals)
                run = 1
            calls[min(i, last_bucket)] += run
            api_ok[min(i, last_bucket)] += run
            ok[min(j, last_bucket)] += run
            n += run
        if n == 0:
            self._start(worker, t)
            return
        tally = worker.tally
        tally.calls += n
        tally.ok += n
        tally.api_calls += n
        tally.api_ok += n
        self.latencies.add(latency, n)
        self.skipped += n
        self._latest = max(self._latest, last + latency)
        oracle.absorb(worker, n, first, last)
        if t < self.end:
            self._push(t, _ARRIVAL, worker)

    def _step(self, call: _Call, reply: HttpResponse | TransportError | None, t: float) -> None:
        """Feed ``reply`` to the flow and perform what it asks next."""
        tally = call.worker.tally
        while True:
            was_token = call.token_pending
            call.token_pending = False
            try:
                action = call.flow.send(reply)
            except StopIteration as stop:
                self._finish(call, stop.value, t, None)
                action = None
            except StrategyError as error:
                self._finish(call, None, t, error)
                action = None
            if was_token:
                self._wake(t)
            if action is None:
                return
            what = type(action)
            if what is Send:
                assert isinstance(action, Send)
                delay = self.latency_s
                if self._respond is not None:
                    outcome = self._respond(action.request)
                    response, delay = outcome.response, delay + outcome.latency_s
                else:
                    response = self.provider.handle(action.request)
                call.history.append((action.purpose, t, response))
                if action.purpose == "api" and len(call.history) == 1:
                    call.only_api = action.request
                kind = answer_kind(response)
                tally.count(action.purpose, kind)
                if action.purpose == "token":
                    self.series.add("token_requests", t)
                    call.token_pending = True
                elif kind == OK:
                    self.series.add("api_ok", t)
                if is_throttled(response):
                    self.series.add("throttled", t)
                if delay > 0:
                    self._push(t + delay, _RESUME, call, response)
                    return
                reply = response
            elif what is Sleep:
                assert isinstance(action, Sleep)
                self._push(t + max(0.0, action.seconds), _RESUME, call, None)
                return
            elif what is AwaitRefresh:
                assert isinstance(action, AwaitRefresh)
                cache = action.cache
                if not getattr(cache, "refreshing", False):
                    reply = None
                    continue
                self._waiting.setdefault(id(cache), (cache, []))[1].append(call)
                return
            else:
                expected = "expected Send, Sleep or AwaitRefresh"
                raise TypeError(f"a strategy flow yielded {action!r}: {expected}")

    def _wake(self, t: float) -> None:
        """Resume, now, every flow parked on a cache whose refresh has ended."""
        if not self._waiting:
            return
        for key in list(self._waiting):
            cache, parked = self._waiting[key]
            if not getattr(cache, "refreshing", False):
                del self._waiting[key]
                for call in parked:
                    self._push(t, _RESUME, call, None)

    def _finish(
        self, call: _Call, response: HttpResponse | None, t: float, error: StrategyError | None
    ) -> None:
        worker = call.worker
        worker.group.inflight -= 1
        self._inflight -= 1
        tally = worker.tally
        self.latencies.add(t - call.started_at)
        if self.oracle is not None:
            single = call.only_api if len(call.history) == 1 else None
            status = response.status if response is not None and error is None else 0
            self.oracle.observe(worker, single, status, t)
        if error is None and response is not None and 200 <= response.status < 300:
            tally.ok += 1
            self.series.add("ok", t)
            return
        tally.failed += 1
        self.series.add("failed", t)
        status = response.status if response is not None else 0
        reason = type(error).__name__ if error is not None else f"http_{status}"
        tally.errors[reason] = tally.errors.get(reason, 0) + 1

    # -- repeating periods (quotalab.sim.cycles) ------------------------

    def _arm_cycles(self) -> None:
        """Start looking for repeating periods if every worker's arrivals repeat exactly."""
        if self.cycles is None:
            return
        found = common_period([w.arrivals for w in self.workers], self.start, self.stop_at)
        if found is None:
            return
        self._period_s = float(found[0])
        self._positions = {id(worker): i for i, worker in enumerate(self.workers)}
        self._per_period = found[1]
        gaps = max(self._period_s / n for n in found[1])
        # Arrivals are scheduled one ahead: a skipped period must leave the next
        # arrival of every worker before the end, as in the recorded period.
        self._last_skip_at = self.end - gaps
        self._check_at = self.start

    def _look_for_cycle(self, following: float) -> None:
        """At ``_check_at`` (all events up to it played, the next at ``following``)."""
        at, period = self._check_at, self._period_s
        assert self.cycles is not None
        if at + 2 * period > self._last_skip_at:
            self._drop_reference()
            self._check_at = math.inf
            return
        state = None if self._callbacks else self._snapshot(at)
        if state is None and (self._inflight or self._callbacks):
            # Calls in flight that cannot be described (a sleep, a parked call):
            # a repeating system has a better instant each period. Look event by
            # event for up to a period, then wait longer and longer.
            self._drop_reference()
            if self._busy_since is None:
                self._busy_since = at
            if following - self._busy_since <= period:
                self._check_at = following
            else:
                self._busy_since = None
                self._wait_longer(at)
            return
        self._busy_since = None
        if state is None:
            self._drop_reference()
            self._wait_longer(at)
            return
        reference = self._reference
        if reference is not None:
            if (
                reference.at + period == at
                and reference.state == state
                and reference.skipped == self.skipped
            ):
                periods = min(
                    math.floor((self._last_skip_at - at) / period) - 1,
                    self.cycles.periods_left(reference.probe, at, period),
                )
                if periods >= 1:
                    self._replay(reference, at, periods)
                    self._drop_reference()
                    self._retry_periods = 1
                    self._misses = 0
                    self._check_at = at + periods * period
                    return
            self._misses += 1
            if self._misses > _PATIENCE:  # still settling after many periods
                self._drop_reference()
                self._wait_longer(at)
                return
        self._reference = _Reference(
            at,
            state,
            [
                (tally, tally.copy())
                for tally in {id(w.tally): w.tally for w in self.workers}.values()
            ],
            dict(self.latencies.counts),
            self.cycles.baseline(),
            self.skipped,
        )
        self.series.log = self._reference.log
        self._check_at = at + period

    def _wait_longer(self, at: float) -> None:
        """Look again later, twice as late each time (a system that never repeats costs little)."""
        self._check_at = at + self._retry_periods * self._period_s
        self._retry_periods = min(2 * self._retry_periods, 256)

    def _drop_reference(self) -> None:
        self._reference = None
        self.series.log = None

    def _snapshot(self, at: float) -> Hashable | None:
        """Pending arrivals and calls in flight, and the probe's part, relative to ``at``."""
        cycles = self.cycles
        assert cycles is not None
        if self._waiting:
            return None
        probe = cycles.snapshot(at)
        if probe is None:
            return None
        position = self._positions
        pending: list[Hashable] = []
        for t, _, kind, subject, reply in sorted(self._heap):
            if kind == _ARRIVAL:
                assert isinstance(subject, Worker)
                pending.append((t - at, position[id(subject)]))
                continue
            if kind != _RESUME:
                return None
            assert isinstance(subject, _Call)
            history = subject.history
            if not history or reply is not history[-1][2]:
                return None  # resuming from a sleep
            strategy = subject.worker.group.strategy
            described = cycles.call_state(strategy, history, t, at)
            if described is None:
                return None
            worker = position[id(subject.worker)]
            pending.append(
                (t - at, worker, subject.started_at - at, subject.token_pending, described)
            )
        return tuple(pending), probe

    def _replay(self, reference: _Reference, at: float, periods: int) -> None:
        """Count ``periods`` repeats of the period that ended at ``at`` and move on."""
        assert self.cycles is not None
        period = self._period_s
        shift = periods * period
        calls = 0
        for tally, before in reference.tallies:
            delta = tally.since(before)
            tally.merge(delta, periods)
            calls += delta.calls
        counts = self.latencies.counts
        for ms, n in list(counts.items()):
            grown = n - reference.latencies.get(ms, 0)
            if grown:
                counts[ms] = n + grown * periods
        self.series.add_repeats(reference.log, period, periods)
        self.cycles.advance(reference.probe, periods, period)
        # Pending arrivals and calls in flight move on by whole periods; their
        # order, hence the heap, stays.
        self._heap[:] = [(t + shift, seq, kind, s, r) for t, seq, kind, s, r in self._heap]
        for _, _, kind, call, _ in self._heap:
            if kind == _RESUME:
                assert isinstance(call, _Call)
                call.started_at += shift
                call.history = [(p, sent + shift, answer) for p, sent, answer in call.history]
        for worker, per in zip(self.workers, self._per_period, strict=True):
            assert isinstance(worker.arrivals, PeriodicArrivals)  # common_period checked
            worker.arrivals.skip(per * periods)
        self.skipped += calls * periods
