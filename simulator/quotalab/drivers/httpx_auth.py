"""``StrategyAuth``: any strategy as an ``httpx.Auth``, sync and async from one core.

Drop it into your own client::

    with httpx.Client(auth=StrategyAuth.named("cached+backoff", settings)) as client:
        client.get("https://api.example.com/v1/users")

Token and API requests both go through the client's transport. httpx raises
connection errors to the caller rather than into an auth flow, so under this
driver a ``TransportError`` never reaches the strategy: pair it with
``httpx.HTTPTransport(retries=N)`` or use ``run_flow_sync`` for that.
"""

from __future__ import annotations

import asyncio
import random
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx

from quotalab.clock import SystemClock
from quotalab.drivers.loop import AsyncRefreshGate, RefreshGate, drive_async, drive_sync
from quotalab.strategies.client_settings import ClientSettings
from quotalab.strategies.messages import Send, Strategy
from quotalab.strategies.registry import make_strategy
from quotalab.wire import HttpRequest, HttpResponse


def to_wire_request(request: httpx.Request) -> HttpRequest:
    """An httpx request (body already read) as a plain value."""
    return HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=tuple((k.lower(), v) for k, v in request.headers.multi_items()),
        body=request.content,
    )


def to_httpx_request(request: HttpRequest) -> httpx.Request:
    return httpx.Request(
        request.method, request.url, headers=list(request.headers), content=request.body
    )


def from_httpx_response(response: httpx.Response) -> HttpResponse:
    """A read httpx response as a plain value with lower-case header names."""
    return HttpResponse(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=response.content,
    )


def _outgoing(action: Send, original: httpx.Request) -> httpx.Request:
    if action.purpose == "token":
        return to_httpx_request(action.request)
    # The caller's own request, with the bearer header the strategy chose.
    for name, value in action.request.headers:
        if name.lower() == "authorization":
            original.headers["Authorization"] = value
    return original


class StrategyAuth(httpx.Auth):
    """An ``httpx.Auth`` that runs a sans-I/O strategy flow for every request.

    Share one instance between the threads of an ``httpx.Client`` or the tasks
    of an ``httpx.AsyncClient`` (not both at once): they share its token.
    ``sleep`` / ``async_sleep`` are injectable so tests can advance a virtual clock.
    """

    requires_request_body = True

    def __init__(
        self,
        strategy: Strategy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.strategy = strategy
        self.sleep = sleep
        self.async_sleep = async_sleep
        self.gate = RefreshGate()
        self._async_gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncRefreshGate
        ] = weakref.WeakKeyDictionary()

    @classmethod
    def named(cls, name: str, settings: ClientSettings, *, seed: int | None = None) -> StrategyAuth:
        """The named strategy (``"cached+backoff"``, ...) on real time, ready for httpx."""
        strategy = make_strategy(name, settings, clock=SystemClock(), rng=random.Random(seed))
        return cls(strategy)

    def async_gate(self) -> AsyncRefreshGate:
        """The gate for the running event loop (asyncio primitives belong to one loop)."""
        loop = asyncio.get_running_loop()
        gate = self._async_gates.get(loop)
        if gate is None:
            gate = self._async_gates[loop] = AsyncRefreshGate()
        return gate

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        driver = drive_sync(self.strategy.call(to_wire_request(request)), self.sleep, self.gate)
        try:
            action = next(driver)
            while True:
                response = yield _outgoing(action, request)
                response.read()
                action = driver.send(from_httpx_response(response))
        except StopIteration:
            return
        finally:
            driver.close()  # a flow abandoned mid-refresh releases its claim and wakes waiters

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        flow = self.strategy.call(to_wire_request(request))
        driver = drive_async(flow, self.async_sleep, self.async_gate())
        try:
            item = await anext(driver)
            while isinstance(item, Send):
                response = yield _outgoing(item, request)
                await response.aread()
                item = await driver.asend(from_httpx_response(response))
        finally:
            await driver.aclose()
