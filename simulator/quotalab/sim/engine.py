"""The discrete-event engine: strategy flows against a provider on a virtual clock.

Each in-flight API call is a strategy flow (a generator). ``Send`` is answered
by the provider's ``handle`` at the current virtual time and delivered after
``latency_s``; ``Sleep`` schedules the flow's resumption; ``AwaitRefresh``
parks it until the token fetch on that cache completes. Events sit in one
heap ordered by ``(time, sequence)`` (``quotalab.sim.event_queue``), so a run
is a pure function of its inputs and seed. What a call counts (begun, each
request and its answer, ended) is ``quotalab.sim.call_accounting``, mixed in.

Where an oracle proves that a worker's next calls are *quiet* (served from a
cached token, answered 2xx, changing nothing), the engine counts them
arithmetically instead of running them (``quotalab.sim.quiet_skip``, proofs in
``quotalab.sim.fastforward``). Where a probe shows that the whole system
repeats itself every period of ``constant`` traffic, the engine replays the
period's counts instead of playing it again (``quotalab.sim.period_search``,
proofs in ``quotalab.sim.cycles``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from quotalab.clock import EngineClock, VirtualClock
from quotalab.errors import StrategyExit
from quotalab.outcomes import ABANDONED, THROTTLED_KINDS
from quotalab.sim.aggregates import BucketSeries, ClientTally, answer_kind, bucket_width_s
from quotalab.sim.call_accounting import CallAccounting
from quotalab.sim.engine_types import (
    MAX_STEPS_AT_ONE_INSTANT,
    CacheGroup,
    Call,
    CycleProbe,
    EngineResult,
    Exchange,
    NoTimePassed,
    Provider,
    QuietOracle,
    ReplyLike,
    Worker,
)
from quotalab.sim.event_queue import ARRIVAL, CALLBACK, HERD, RESUME, SOLO, EventQueue, Herd
from quotalab.sim.period_search import PeriodSearch
from quotalab.sim.quiet_skip import count_quiet_calls
from quotalab.sim.script_seams import ExactRefusals, RefusalProof
from quotalab.sim.scripted_calls import ScriptedCalls
from quotalab.sim.scripted_retries import ScriptedRetries
from quotalab.strategies.messages import AwaitRefresh, Flow, Send, Sleep, is_seconds, not_an_action
from quotalab.strategies.own_client import cause, strategy_name
from quotalab.strategies.raised_calls import raised_call
from quotalab.wire import HttpRequest, HttpResponse, TransportError

_THROTTLES = THROTTLED_KINDS  # what ``is_throttled`` and the tallies count

__all__ = [
    "CacheGroup",
    "CycleProbe",
    "Engine",
    "EngineResult",
    "Exchange",
    "Provider",
    "QuietOracle",
    "Worker",
]


def _exited(strategy: object, where: str, error: BaseException) -> StrategyExit:
    """The error that stops the run when ``strategy``'s ``where`` raised ``error``, an
    exception that is not an ``Exception`` (``sys.exit``): a call cannot end so."""
    return StrategyExit(
        f"strategy {strategy_name(strategy)!r}: {where} raised {cause(error)}; "
        "a call ends by returning or by raising an Exception, so the run stopped "
        "and wrote no report"
    )


def _raising(error: Exception) -> Flow:
    """A flow that fails with ``error`` as soon as it is stepped."""
    raise error
    yield  # a generator, so the error surfaces where every flow's errors do


_UNKNOWN = object()
"""A group whose player ``Engine._player_of`` has not been asked yet."""


class Engine(CallAccounting):
    """Runs workers' calls from ``start`` for ``duration_s`` virtual seconds.

    Calls that began before the end are let finish (up to ``drain_s`` more).
    ``queue`` is the agenda an ``oracle`` schedules its deferred effects on
    (``queue.at``); ``cycles`` turns on the search for repeating periods.
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
        queue: EventQueue | None = None,
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
        self.queue = queue if queue is not None else EventQueue()
        self.oracle = oracle
        self.cycles = cycles
        self.progress = progress  # told the fraction of virtual time played, now and then
        width = width_s if width_s is not None else bucket_width_s(duration_s)
        self._start_accounting(BucketSeries(self.start, duration_s, width))
        self._waiting: dict[int, tuple[object, list[Call]]] = {}
        self._purposes: dict[tuple[str, str, str], str] = {}  # ``_counted_as``, by request
        self._script: ScriptedCalls | None = None
        self._retries: ScriptedRetries | None = None  # backoff calls, in herds
        # Per group: the script's ``start`` that plays its calls (``_player_of``).
        self._players: dict[CacheGroup, object] = {}
        # A provider that also says how much latency a fault adds (MockProvider.respond).
        self._respond: Callable[[HttpRequest], ReplyLike] | None = getattr(
            provider, "respond", None
        )

    @property
    def inflight(self) -> int:
        """Calls started and not finished."""
        return self._inflight

    @property
    def parked(self) -> bool:
        """True while calls wait on a token refresh."""
        return bool(self._waiting)

    def at(self, t: float, action: Callable[[], None]) -> None:
        """Run ``action`` when the clock reaches ``t``."""
        self.queue.at(t, action)

    def run(self) -> EngineResult:
        """Play every event in time order and return the aggregates."""
        queue = self.queue
        for worker in self.workers:
            first = next(worker.arrivals)
            if first < self.end:
                queue.push(first, ARRIVAL, worker)
        search = None
        if self.cycles is not None:
            search = PeriodSearch(self.cycles, self.workers, self.start, self.end, self.stop_at)
        if (
            self.oracle is None
            and (search is None or not search.armed)
            and isinstance(self.provider, RefusalProof)
        ):  # nothing reads calls in flight: naive calls may be played from their arrival
            self._script = ScriptedCalls(self, self.provider)
            if isinstance(self.provider, ExactRefusals):  # and backoff calls likewise
                self._retries = ScriptedRetries(self, self.provider, self._script.serve)
        heap, lane, push, clock = queue.heap, queue.lane, heapq.heappush, self.clock
        pop, popleft = heapq.heappop, lane.popleft
        # The run's clock moves for the engine alone (``EngineClock.move_to``); a test's
        # ``VirtualClock`` by its ``set``.
        move_to = clock.move_to if isinstance(clock, EngineClock) else clock.set
        stop_at = self.stop_at
        arrive = self._arrive if self.oracle is not None else self._start  # no quiet calls
        events = 0
        t = self.start
        check_at = search.check_at if search is not None else float("inf")
        while True:
            # the heap's front or the lane's, whichever is first (``EventQueue.lane``)
            if lane:
                entry = pop(heap) if heap and heap[0] < lane[0] else popleft()
            elif heap:
                entry = pop(heap)
            else:
                break
            t = entry[0]
            if t > stop_at:
                t = stop_at  # calls still going now are abandoned
                break
            if t > check_at:  # every event up to check_at has been played
                assert search is not None
                push(heap, entry)
                search.look(self, t)
                check_at = search.check_at
                continue
            _, _, kind, subject, reply = entry
            events += 1
            if not events & 0xFFFF and self.progress is not None:
                self.progress(min(1.0, (t - self.start) / self.duration_s))
            if t > clock.now():
                move_to(t)
            if kind == ARRIVAL:
                assert isinstance(subject, Worker)
                arrive(subject, t)
            elif kind == CALLBACK:
                queue.callbacks -= 1
                subject()  # type: ignore[operator]
            elif kind == SOLO:
                reply(t, subject)  # type: ignore[operator]
            elif kind == HERD:
                assert isinstance(subject, Herd)
                queue.close(t, subject)
                subject.play(t, subject.members)
            else:
                assert isinstance(subject, Call)
                self._step(subject, reply, t)  # type: ignore[arg-type]
        if self._script is not None:
            self._script.settle()
        # Leave the clock where event-by-event play would leave it, so the
        # provider's stats read the same with or without fast-forward.
        ended = max(t, self._latest)
        if ended > clock.now():
            move_to(ended)
        tallies: dict[str, ClientTally] = {}
        for worker in self.workers:
            tallies.setdefault(worker.client_id, worker.tally)
        for tally in tallies.values():
            self._abandon_unfinished(tally)
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

    def _abandon_unfinished(self, tally: ClientTally) -> None:
        """Count the calls still running when the run stopped, its drain spent, as failed
        (``abandoned``), as a live run counts those its stop timeout cut off."""
        unfinished = tally.calls - tally.ok - tally.failed
        if unfinished <= 0:
            return
        tally.failed += unfinished
        tally.errors[ABANDONED] = tally.errors.get(ABANDONED, 0) + unfinished
        tally.first_messages.setdefault(
            ABANDONED,
            f"still running {self.stop_at - self.end:g} s after the simulated span ended "
            "(a call that never ends: a wait without end, a refresh never finished?)",
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
            self.queue.push(following, ARRIVAL, worker)
        if self._script is not None:
            play = self._players.get(worker.group, _UNKNOWN)
            if play is _UNKNOWN:
                play = self._players[worker.group] = self._player_of(worker.group)
            if play is not None and play(worker, t):  # type: ignore[operator]
                return
        self.begin_call(worker, t)
        try:
            flow = worker.group.strategy.call(worker.request)
        except Exception as error:  # a custom strategy's call() itself raised: a failed call
            flow = _raising(error)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # sys.exit(): no call ends so
            raise _exited(worker.group.strategy, "call()", error) from None
        call = Call(flow, worker, t)
        self._step(call, None, t)

    def _counted_as(self, action: Send) -> str:
        """The purpose ``action``'s request is counted under: what the provider takes it
        for, as a live server counts it, not the label a custom strategy gave it (a token
        request sent as "api" must not leave the token count at 0); "": not counted."""
        key = (action.request.method, action.request.url, action.purpose)
        counted = self._purposes.get(key)
        if counted is None:
            purpose_of = getattr(self.provider, "purpose_of", None)
            counted = action.purpose if purpose_of is None else purpose_of(action.request) or ""
            if len(self._purposes) >= 4096:
                self._purposes.clear()
            self._purposes[key] = counted
        return counted

    def _player_of(self, group: CacheGroup) -> Callable[[Worker, float], bool] | None:
        """The script's ``start`` that plays the calls of ``group`` from their arrival
        (it may still decline one); None: their flows play them, event by event."""
        script = self._script
        assert script is not None
        if script.plays(group):
            return script.start
        retries = self._retries
        if retries is not None and retries.plays(group):
            return retries.start
        return None

    def _skip(self, worker: Worker, t: float, quiet: float, oracle: QuietOracle) -> None:
        """Count the quiet calls starting in ``[t, quiet)`` exactly as if they ran."""
        first = t
        stretch = count_quiet_calls(
            self.series,
            worker.arrivals,
            t,
            quiet,
            oracle.gate(worker),
            self.latency_s,
        )
        n = stretch.calls
        if n == 0:
            self._start(worker, t)
            return
        tally = worker.tally
        tally.calls += n
        tally.ok += n
        tally.api_calls += n
        tally.api_ok += n
        self.latencies.add(self.latency_s, n)
        self.skipped += n
        self._latest = max(self._latest, stretch.last_at + self.latency_s)
        oracle.absorb(worker, n, first, stretch.last_at)
        if stretch.next_arrival < self.end:
            self.queue.push(stretch.next_arrival, ARRIVAL, worker)

    def _step(self, call: Call, reply: HttpResponse | TransportError | None, t: float) -> None:
        """Feed ``reply`` to the flow and perform what it asks next."""
        while True:
            if t != call.still_at:
                call.still_at, call.still_steps = t, 0
            elif call.still_steps < MAX_STEPS_AT_ONE_INSTANT:
                call.still_steps += 1
            else:  # it would hold virtual time still for ever: a failed call
                self._close(call)
                self._finish(call, None, t, NoTimePassed())
                self._wake(t)
                return
            was_token = call.token_pending
            call.token_pending = False
            try:
                action = call.flow.send(reply)
            except StopIteration as stop:
                value = stop.value
                if value is None or isinstance(value, HttpResponse):
                    self._finish(call, value, t, None)
                else:  # a custom strategy's bug: a failed call, not a crashed run
                    error = TypeError(f"the flow returned {value!r}: expected an HttpResponse")
                    self._finish(call, None, t, error)
                action = None
            except Exception as error:  # a StrategyError, or a custom strategy's own
                self._finish(call, None, t, error)
                action = None
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # sys.exit(): no call ends so
                raise _exited(call.worker.group.strategy, "its flow", error) from None
            if was_token:
                self._wake(t)
            if action is None:
                return
            what = type(action)
            if what is Send and isinstance(action.request, HttpRequest):  # type: ignore[union-attr]
                assert isinstance(action, Send)
                delay = self.latency_s
                if self._respond is not None:
                    outcome = self._respond(action.request)
                    response, delay = outcome.response, delay + outcome.latency_s
                else:
                    response = self.provider.handle(action.request)
                purpose = action.purpose
                history = call.history
                history.append((purpose, t, response))
                if purpose == "api" and len(history) == 1:
                    call.only_api = action.request
                counted = self._counted_as(action)
                if counted:  # "": a request the provider counts nowhere (its keys, say)
                    self.account_send(call, call.worker, counted, response, t)
                if delay > 0:
                    self.queue.push(t + delay, RESUME, call, response)
                    return
                reply = response
            elif what is Sleep and is_seconds(action.seconds):  # type: ignore[union-attr]
                assert isinstance(action, Sleep)
                self.queue.push(t + max(0.0, action.seconds), RESUME, call, None)
                return
            elif what is AwaitRefresh:
                assert isinstance(action, AwaitRefresh)
                cache = action.cache
                if not getattr(cache, "refreshing", False):
                    reply = None
                    continue
                self._waiting.setdefault(id(cache), (cache, []))[1].append(call)
                return
            else:  # a custom strategy's bug: a failed call, like any exception of its flow
                self._close(call)
                self._finish(call, None, t, not_an_action(action))
                self._wake(t)  # closing it may have ended its claim on a token refresh
                return

    @staticmethod
    def _close(call: Call) -> None:
        """Close the flow of a call that fails without its flow's say."""
        try:
            call.flow.close()
        except Exception:  # it yielded again, or raised: a failed call all the same
            pass
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            raise _exited(call.worker.group.strategy, "its flow", error) from None

    def adopt(self, call: Call, response: HttpResponse | TransportError, resume_at: float) -> None:
        """Play the rest of a scripted call event by event: ``response`` at ``resume_at``."""
        call.token_pending = call.history[-1][0] == "token"
        if resume_at > self.clock.now():
            self.queue.push(resume_at, RESUME, call, response)
        else:  # no latency: event-by-event play goes on at once, before anything else due
            self._step(call, response, resume_at)

    def _wake(self, t: float) -> None:
        """Resume, now, every flow parked on a cache whose refresh has ended."""
        if not self._waiting:
            return
        for key in list(self._waiting):
            cache, parked = self._waiting[key]
            if not getattr(cache, "refreshing", False):
                del self._waiting[key]
                for call in parked:
                    self.queue.push(t, RESUME, call, None)

    def _finish(
        self, call: Call, response: HttpResponse | None, t: float, error: Exception | None
    ) -> None:
        worker = call.worker
        if self.oracle is not None:
            single = call.only_api if len(call.history) == 1 else None
            status = response.status if response is not None and error is None else 0
            self.oracle.observe(worker, single, status, t)
        status = response.status if response is not None else 0
        if error is None:  # a 2xx, or the final non-2xx answer the flow returned
            throttled = response is not None and answer_kind(response) in _THROTTLES
            self.end_call(worker, call.started_at, t, status, None, throttled)
            return
        # Gave up on a throttle when the last answer it had was one (a custom
        # strategy's own exception says nothing of it).
        last = call.history[-1][2] if call.history else None
        throttled = last is not None and answer_kind(last) in _THROTTLES
        raised = raised_call(error)  # named and worded as a live run words it
        self.end_call(worker, call.started_at, t, status, raised.reason, throttled, raised.message)
