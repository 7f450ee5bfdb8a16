"""The seams of scripted calls (``quotalab.sim.scripted_calls``,
``quotalab.sim.scripted_retries``): what they need of the provider and of the
engine that plays the rest of a call."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from quotalab.clock import VirtualClock
from quotalab.sim.aggregates import BucketSeries
from quotalab.sim.engine_types import Call, ReplyLike, Worker
from quotalab.sim.event_queue import EventQueue
from quotalab.sim.refusal_proofs import RefusalWindow
from quotalab.sim.token_grants import Issued
from quotalab.wire import HttpRequest, HttpResponse


@runtime_checkable
class RefusalProof(Protocol):
    """The provider seam: answers, and refusals proven without asking the limiter."""

    proves_refusals: bool

    def respond(self, request: HttpRequest) -> ReplyLike: ...

    def proven_refusal(self, request: HttpRequest) -> RefusalWindow | None: ...

    def counted_id(self, request: HttpRequest) -> str: ...

    def count_refused(self, counted_id: str, counter: str, calls: int) -> None: ...

    def grant(self, request: HttpRequest) -> Issued | HttpResponse | None: ...

    def api_ok(self, request: HttpRequest) -> bool: ...

    def api_ok_issued(self, request: HttpRequest, issued: Issued) -> bool: ...

    def settle(self) -> None:
        """Add the provider's counts left for later (before anybody reads them)."""
        ...


@runtime_checkable
class ExactRefusals(RefusalProof, Protocol):
    """The provider seam: ``grant`` with every refusal's headers as ``respond`` gives them."""

    def grant_exact(self, request: HttpRequest) -> Issued | HttpResponse | None: ...

    def refuse_alike(self, requests: Iterable[HttpRequest], refusal: HttpResponse) -> int: ...


class ScriptHost(Protocol):
    """What scripted calls need of the engine that plays the rest."""

    clock: VirtualClock
    series: BucketSeries
    latency_s: float
    stop_at: float

    @property
    def queue(self) -> EventQueue:
        """The agenda ``at`` puts actions on."""
        ...

    def at(self, t: float, action: Callable[[], None]) -> None: ...

    def adopt(self, call: Call, response: HttpResponse, resume_at: float) -> None:
        """Continue ``call`` event by event: its flow gets ``response`` at ``resume_at``."""
        ...

    def begin_call(self, worker: Worker, t: float) -> None:
        """Count a call of ``worker`` starting at ``t``."""
        ...

    def account_send(
        self, call: Call | None, worker: Worker, purpose: str, response: HttpResponse, t: float
    ) -> int:
        """Count a request sent at ``t`` and its answer, as event-by-event play does; its kind."""
        ...

    def account_ok(self, worker: Worker, purpose: str, t: float) -> None:
        """Count a request sent at ``t`` and answered 2xx."""
        ...

    def account_alike(self, workers: list[Worker], purpose: str, kind: int, t: float) -> None:
        """Count one request of each of ``workers``, all sent at ``t`` and answered ``kind``."""
        ...

    def end_call(
        self,
        worker: Worker,
        started_at: float,
        t: float,
        status: int,
        reason: str | None,
        throttled: bool = False,
        message: str = "",
    ) -> None:
        """Count a call that ends at ``t`` (``reason``: why it failed; None: it did not)."""
        ...

    def end_alike(
        self,
        calls: list[tuple[Worker, float]],
        t: float,
        reason: str,
        throttled: bool,
        message: str,
    ) -> None:
        """``end_call`` of failed calls (worker, start) all ending at ``t`` alike."""
        ...

    def count_ended(
        self,
        worker: Worker,
        duration_s: float,
        last_at: float,
        reason: str | None,
        throttled: bool,
        amount: int,
    ) -> None:
        """Count ``amount`` calls of ``duration_s`` that ended by ``last_at``, all but
        their time series (counted already) and their message (their first's)."""
        ...
