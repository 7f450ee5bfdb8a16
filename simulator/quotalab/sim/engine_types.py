"""The engine's vocabulary: workers, calls in flight, results and the seams it calls.

``Engine`` (the event loop), ``quiet_skip`` (counting quiet calls) and
``period_search`` (replaying repeating periods) share these types and nothing
else of one another.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from quotalab.sim.aggregates import BucketSeries, ClientTally, Latencies
from quotalab.strategies.messages import Flow, Strategy
from quotalab.wire import HttpRequest, HttpResponse, TransportError

Exchange = tuple[str, float, HttpResponse | TransportError]
"""One request of a call: its purpose, when it was sent, and the answer."""


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


class Call:
    """One API call in flight: its strategy flow and what it exchanged so far."""

    __slots__ = (
        "flow",
        "history",
        "only_api",
        "started_at",
        "still_at",
        "still_steps",
        "token_pending",
        "worker",
    )

    def __init__(self, flow: Flow, worker: Worker, started_at: float) -> None:
        self.flow = flow
        self.worker = worker
        self.started_at = started_at
        self.token_pending = False
        self.only_api: HttpRequest | None = None
        self.history: list[Exchange] = []  # every request sent and its answer
        # The instant of its last action, and how many it took there: a flow that
        # never lets time pass would hold virtual time still for ever.
        self.still_at = started_at
        self.still_steps = 0


MAX_STEPS_AT_ONE_INSTANT = 10_000
"""Actions a call may take without virtual time passing before it is stopped as failed."""


class NoTimePassed(RuntimeError):
    """A call's flow took ``MAX_STEPS_AT_ONE_INSTANT`` actions at one virtual instant."""

    def __init__(self) -> None:
        super().__init__(
            f"the flow took {MAX_STEPS_AT_ONE_INSTANT:,} actions without virtual time "
            "passing (a loop that never sleeps?); the call was stopped"
        )


class QuietGate(Protocol):
    """Decides, call by call, whether the limits a quiet stretch passes admit the next call."""

    @property
    def min_gap_s(self) -> float:
        """After a call that found every limit full, a call this much later does too."""
        ...

    @property
    def full(self) -> bool:
        """Whether the last call ``admit`` admitted found every limit full."""
        ...

    def admit(self, t: float, last: float) -> bool:
        """Admit the call at ``t`` (False: a limit would refuse it, and the stretch ends).

        ``last`` is the stretch's previous call (minus infinity for none); calls
        since the last one ``admit`` decided were admitted by the ``min_gap_s`` rule.
        """
        ...


class QuietOracle(Protocol):
    """Proves stretches in which a worker's calls cannot change anything."""

    def quiet_until(self, worker: Worker, now: float) -> float:
        """Calls of ``worker`` starting in ``[now, result)`` are quiet (``now``: none).

        Quiet as far as the strategy and the server's token checks go: the
        limits decide call by call, through ``gate``.
        """
        ...

    def gate(self, worker: Worker) -> QuietGate:
        """The limits of the worker's API calls, as they stand now."""
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
