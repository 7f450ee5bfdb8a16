"""Drive a strategy's sans-I/O flow with gevent and locust's fast HTTP client.

``Send`` goes out on the user's ``FastHttpSession`` (geventhttpclient) under a
name that keeps token requests and API calls apart in locust's statistics;
``Sleep`` is ``gevent.sleep`` (cut short when the test stops); ``AwaitRefresh``
waits on a gevent event that the driver sets after every token exchange.
Imported only inside the locust process (gevent monkey-patching).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
from gevent.event import Event

from simulator.run.tally import Outcome, Tally, classify
from simulator.strategies.messages import AwaitRefresh, Flow, Reply, Send, Sleep
from simulator.wire import HttpRequest, HttpResponse, TransportError

# Outcomes the client measures and locust should not count as its own failures.
MEASURED: frozenset[Outcome] = frozenset({"ok", "throttled_429", "forbidden_403_99"})


class Abandoned(Exception):
    """The test stopped while the flow slept or waited: it ends without a result."""


class RefreshSignals:
    """Per-process wake-ups for flows waiting on another flow's token fetch."""

    def __init__(self) -> None:
        self._waiting: dict[int, Event] = {}

    def event_for(self, cache: object) -> Event:
        """The event a waiter on ``cache`` blocks on until the next token exchange."""
        return self._waiting.setdefault(id(cache), Event())

    def wake_all(self) -> None:
        """A token exchange completed: every waiter re-checks its cache."""
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
        """Perform each action of ``flow`` and return its final response."""
        try:
            action = next(flow)
            while True:
                reply = self._perform(action)
                token_done = isinstance(action, Send) and action.purpose == "token"
                try:
                    action = flow.send(reply)
                finally:
                    # The flow has taken the token response in: waiters re-check the cache.
                    if token_done:
                        self.signals.wake_all()
        except StopIteration as done:
            result: HttpResponse = done.value
            return result
        except Abandoned:
            flow.close()
            self.signals.wake_all()
            raise

    def _perform(self, action: object) -> Reply:
        if isinstance(action, Send):
            if self.stopping.is_set():
                raise Abandoned
            return self.send(action)
        if isinstance(action, Sleep):
            if self.stopping.wait(max(0.0, action.seconds)):
                raise Abandoned
            return None
        if isinstance(action, AwaitRefresh):
            while getattr(action.cache, "refreshing", False):
                if self.stopping.is_set():
                    raise Abandoned
                gevent.wait([self.signals.event_for(action.cache), self.stopping], count=1)
            return None
        raise TypeError(f"a flow yielded {action!r}, which is not Send, Sleep or AwaitRefresh")

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
