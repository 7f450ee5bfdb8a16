"""Drive a strategy's sans-I/O flow with gevent and locust's fast HTTP client.

The stepping loop is ``drive_sync`` (shared with the other blocking drivers);
this module supplies locust's parts. ``Send`` goes out on the user's
``FastHttpSession`` (geventhttpclient) under a name that keeps token requests
and API calls apart in locust's statistics; ``Sleep`` waits on the test's
stopping event (cut short when the test stops); ``AwaitRefresh`` waits on a
gevent event that is set after every token exchange. When the test stops, a
flow finishes the requests it is making (as the simulation lets calls drain),
but one that would sleep (a backoff wait) is cut short: it raises
``Abandoned`` and is closed, and counts as an attempted call that did not
finish (reason ``ABANDONED``, docs/reports.md).
Imported only inside the locust process (gevent monkey-patching).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
from gevent.event import Event

from quotalab.drivers.loop import RefreshGate, drive_sync
from quotalab.run.live_tally import Tally, classify
from quotalab.strategies.messages import Flow, Send
from quotalab.wire import HttpRequest, HttpResponse, TransportError

# Outcomes the client measures and locust should not count as its own failures.
MEASURED: frozenset[str] = frozenset({"ok", "throttled_429", "forbidden_403_99", "throttled_4xx"})


class Abandoned(Exception):
    """The test stopped while the flow slept: it ends without a result."""


class RefreshSignals(RefreshGate):
    """Per-process wake-ups for flows waiting on another flow's token fetch (gevent).

    A ``RefreshGate`` for ``drive_sync`` whose waits also end when the test stops.
    """

    def __init__(self, stopping: Event) -> None:
        super().__init__()
        self.stopping = stopping
        self._waiting: dict[int, Event] = {}

    def event_for(self, cache: object) -> Event:
        """The event a waiter on ``cache`` blocks on until the next token exchange."""
        return self._waiting.setdefault(id(cache), Event())

    def wait(self, cache: object) -> None:
        """Block until ``cache`` is no longer refreshing.

        Not cut short by the end of the run: the refreshing flow finishes its
        request, or is cut short and closed, within moments; once the run
        stops, the wait re-checks often (a closed flow may not signal).
        """
        while getattr(cache, "refreshing", False):
            if self.stopping.is_set():
                self.event_for(cache).wait(timeout=0.05)
            else:
                gevent.wait([self.event_for(cache), self.stopping], count=1)

    def notify(self) -> None:
        """A token exchange completed: every waiter re-checks its cache."""
        self.wake_all()

    def wake_all(self) -> None:
        """Set and forget every waiter's event."""
        waiting, self._waiting = self._waiting, {}
        for event in waiting.values():
            event.set()


def request_name(request: HttpRequest, purpose: str) -> str:
    """Locust's statistics name (next to its method column): ``/oauth/token [token]``."""
    return f"{urlsplit(request.url).path} [{purpose}]"


def to_reply(response: Any) -> HttpResponse | TransportError:
    """A geventhttpclient response as the strategy's plain value."""
    status = int(getattr(response, "status_code", 0) or 0)
    if status == 0:
        return TransportError(reason=repr(getattr(response, "error", "no response")))
    headers = response.headers or {}
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    return HttpResponse(status=status, headers=lowered, body=response.content or b"")


class FlowDriver:
    """Runs flows of one locust user; shares the refresh signals and tally of its process."""

    def __init__(
        self,
        client: Any,
        tally: Tally,
        signals: RefreshSignals,
        stopping: Event,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.tally = tally
        self.signals = signals
        self.stopping = stopping
        self.now = now

    def run(self, flow: Flow) -> HttpResponse:
        """Perform each action of ``flow`` and return its final response.

        Raises ``Abandoned`` (after closing the flow) when the test stops while
        it sleeps.
        """
        steps = drive_sync(flow, self._sleep, self.signals)
        try:
            action = next(steps)
            while True:
                action = steps.send(self.send(action))
        except StopIteration as done:
            result: HttpResponse = done.value
            return result
        finally:
            steps.close()  # closes the flow; wakes waiters if it was mid-refresh

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(max(0.0, seconds)):
            raise Abandoned

    def send(self, action: Send) -> HttpResponse | TransportError:
        """One exchange on locust's client, counted in locust's stats and the tally."""
        request = action.request
        started = time.perf_counter()
        with self.client.request(
            request.method,
            request.url,
            name=request_name(request, action.purpose),
            data=request.body or None,
            headers=dict(request.headers),
            catch_response=True,
        ) as response:
            reply = to_reply(response)
            latency_ms = (time.perf_counter() - started) * 1000
            outcome = classify(reply)
            if outcome in MEASURED:
                response.success()
            else:
                response.failure(f"{outcome} (status {getattr(reply, 'status', 0)})")
        self.tally.record_exchange(self.now(), action.purpose, outcome, latency_ms)
        return reply
