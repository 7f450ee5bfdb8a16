"""How the engine counts calls: begun, each request sent and its answer, and ended.

One place for the tallies, time series, latencies and first error messages,
whether a call is played event by event (``quotalab.sim.engine``) or from
its arrival by a script (``quotalab.sim.scripted_calls``,
``quotalab.sim.scripted_retries``), so both count alike. ``Engine`` mixes
this in: counting a call costs no call more than it did in the loop.
"""

from __future__ import annotations

from collections import Counter

from quotalab.outcomes import THROTTLED_KINDS
from quotalab.sim.aggregates import OK, BucketSeries, Latencies, answer_kind
from quotalab.sim.engine_types import Call, Worker
from quotalab.wire import HttpResponse, TransportError

_THROTTLES = THROTTLED_KINDS  # what ``is_throttled`` and the tallies count

__all__ = ["CallAccounting"]


class CallAccounting:
    """The counts of calls begun, requests sent and calls ended, as ``Engine`` keeps them."""

    series: BucketSeries
    latencies: Latencies
    skipped: int  # calls counted without being run (quiet calls)
    _latest: float  # the last instant anything happened, skipped calls included
    _inflight: int  # calls started and not finished
    _firsts: dict[tuple[int, str], tuple[float, str]]  # (tally, reason): first end

    def _start_accounting(self, series: BucketSeries) -> None:
        """Count from nothing into ``series``, from its start."""
        self.series = series
        self.latencies = Latencies()
        self.skipped = 0
        self._latest = series.start
        self._inflight = 0
        self._firsts = {}

    def begin_call(self, worker: Worker, t: float) -> None:
        """Count a call of ``worker`` starting at ``t``."""
        worker.tally.calls += 1
        self.series.add("calls", t)
        worker.group.inflight += 1
        self._inflight += 1

    def account_send(
        self,
        call: Call | None,
        worker: Worker,
        purpose: str,
        response: HttpResponse | TransportError,
        t: float,
    ) -> int:
        """Count a request sent at ``t`` and its answer (``call``: None when scripted); its kind."""
        kind = answer_kind(response)
        worker.tally.count(purpose, kind)
        if purpose == "token":
            self.series.add("token_requests", t)
            if call is not None:
                call.token_pending = True
        elif kind == OK:
            self.series.add("api_ok", t)
        if kind in _THROTTLES:
            self.series.add("throttled", t)
        return kind

    def account_ok(self, worker: Worker, purpose: str, t: float) -> None:
        """``account_send`` of a request answered 2xx, without the answer."""
        worker.tally.count(purpose, OK)
        self.series.add("token_requests" if purpose == "token" else "api_ok", t)

    def account_alike(self, workers: list[Worker], purpose: str, kind: int, t: float) -> None:
        """``account_send`` of one request per worker, all sent at ``t`` and answered ``kind``
        (a worker may come more than once: each tally is counted once, by how many)."""
        for worker, sent in Counter(workers).items():
            worker.tally.count(purpose, kind, sent)
        n = len(workers)
        if purpose == "token":
            self.series.add("token_requests", t, n)
        elif kind == OK:
            self.series.add("api_ok", t, n)
        if kind in _THROTTLES:
            self.series.add("throttled", t, n)

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
        """Count a call that ends at ``t`` with ``status`` (``reason``: the error it raised,
        ``throttled``: on a throttle, ``message``: the error's)."""
        worker.group.inflight -= 1
        self._inflight -= 1
        if reason is None and 200 <= status < 300:
            self.series.add("ok", t)
            self.count_ended(worker, t - started_at, t, None, False, 1)
            return
        reason = reason or f"http_{status}"
        self.series.add("failed", t)
        self.count_ended(worker, t - started_at, t, reason, throttled, 1)
        if message:  # the first by when calls ended, whatever order they were counted in
            tally = worker.tally
            key = (id(tally), reason)
            known = self._firsts.get(key)
            if known is None or (t, message) < known:
                self._firsts[key] = (t, message)
                tally.first_messages[reason] = message

    def end_alike(
        self,
        calls: list[tuple[Worker, float]],
        t: float,
        reason: str,
        throttled: bool,
        message: str,
    ) -> None:
        """``end_call`` of failed calls, each a worker and when it started, that all end
        at ``t`` alike (``reason``, ``throttled`` and ``message`` as there)."""
        n = len(calls)
        self._inflight -= n
        self.series.add("failed", t, n)
        count_ended, firsts = self.count_ended, self._firsts
        for worker, started_at in calls:
            worker.group.inflight -= 1
            count_ended(worker, t - started_at, t, reason, throttled, 1)
            if message:  # as ``end_call`` keeps it
                tally = worker.tally
                key = (id(tally), reason)
                known = firsts.get(key)
                if known is None or (t, message) < known:
                    firsts[key] = (t, message)
                    tally.first_messages[reason] = message

    def count_ended(
        self,
        worker: Worker,
        duration_s: float,
        last_at: float,
        reason: str | None,
        throttled: bool,
        amount: int,
    ) -> None:
        """Count ``amount`` calls of ``duration_s`` that ended by ``last_at`` (``reason``:
        why they failed; None: they did not), all but their series and their message."""
        tally = worker.tally
        self.latencies.add(duration_s, amount)
        if last_at > self._latest:
            self._latest = last_at
        if reason is None:
            tally.ok += amount
            return
        tally.failed += amount
        tally.errors[reason] = tally.errors.get(reason, 0) + amount
        if throttled:
            tally.throttled_errors[reason] = tally.throttled_errors.get(reason, 0) + amount
