"""Generic loops that drive a flow: blocking (threads, gevent) and asyncio.

A driver performs each action a flow yields (see ``messages``) and, after
every token ``Send``, wakes the flows waiting on a refresh. Waiting uses a
gate: ``RefreshGate`` (a ``threading.Condition``; under gevent's monkey
patching it cooperates with greenlets) or ``AsyncRefreshGate`` (asyncio).
A discrete-event engine drives flows itself: it keeps waiting flows in a
list per cache and resumes them after the token ``Send`` completes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

from quotalab.strategies.messages import (
    AwaitRefresh,
    Flow,
    Purpose,
    Reply,
    Send,
    Sleep,
    is_seconds,
    not_an_action,
)
from quotalab.wire import HttpRequest, HttpResponse, TransportError

SendFn = Callable[[HttpRequest, Purpose], HttpResponse | TransportError]
AsyncSendFn = Callable[[HttpRequest, Purpose], Awaitable[HttpResponse | TransportError]]


def _refreshing(cache: object) -> bool:
    return bool(getattr(cache, "refreshing", False))


class RefreshGate:
    """Where blocking flows wait for a peer's token refresh (threads or greenlets)."""

    __slots__ = ("_condition", "waiting")

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.waiting = 0  # flows parked right now: lets tests and reports see the queue

    def wait(self, cache: object) -> None:
        with self._condition:
            self.waiting += 1
            try:
                while _refreshing(cache):
                    # The timeout only guards against a lost wake-up; the loop re-checks.
                    self._condition.wait(timeout=1.0)
            finally:
                self.waiting -= 1

    def notify(self) -> None:
        with self._condition:
            self._condition.notify_all()


class AsyncRefreshGate:
    """Where asyncio flows wait for a peer's token refresh."""

    __slots__ = ("_condition", "waiting")

    def __init__(self) -> None:
        self._condition: asyncio.Condition | None = None
        self.waiting = 0

    def _cond(self) -> asyncio.Condition:
        if self._condition is None:
            self._condition = asyncio.Condition()
        return self._condition

    async def wait(self, cache: object) -> None:
        condition = self._cond()
        async with condition:
            self.waiting += 1
            try:
                await condition.wait_for(lambda: not _refreshing(cache))
            finally:
                self.waiting -= 1

    async def notify(self) -> None:
        condition = self._cond()
        async with condition:
            condition.notify_all()


def drive_sync(
    flow: Flow, sleep: Callable[[float], None], gate: RefreshGate
) -> Generator[Send, HttpResponse | TransportError, HttpResponse]:
    """Run ``flow``, sleeping and waiting here; yield each ``Send`` for the caller to perform.

    The caller sends back the reply (an ``HttpResponse`` or ``TransportError``).
    This is the one blocking loop: ``run_flow_sync`` performs the sends with a
    function, ``StrategyAuth`` hands them to httpx. Waiters are woken once the
    flow has taken a token reply in, and also when the caller abandons the
    flow mid-refresh (closing it releases its claim on the refresh).
    """
    reply: Reply = None
    token_sent = False
    try:
        while True:
            try:
                action = flow.send(reply)
            finally:
                if token_sent:  # the flow has taken the token reply in: wake the waiters
                    token_sent = False
                    gate.notify()
            if isinstance(action, Send):
                token_sent = action.purpose == "token"
                reply = yield action
            elif isinstance(action, Sleep) and is_seconds(action.seconds):
                sleep(action.seconds)
                reply = None
            elif not isinstance(action, AwaitRefresh):
                raise not_an_action(action)
            else:
                gate.wait(action.cache)
                reply = None
    except StopIteration as stop:
        result: HttpResponse = stop.value
        return result
    finally:
        flow.close()
        if token_sent:
            gate.notify()


async def drive_async(
    flow: Flow, sleep: Callable[[float], Awaitable[None]], gate: AsyncRefreshGate
) -> AsyncGenerator[Send | HttpResponse, HttpResponse | TransportError | None]:
    """The asyncio twin of ``drive_sync``; its last item is the flow's final response.

    (An async generator cannot return a value, so the result is yielded.)
    """
    reply: Reply = None
    token_sent = False
    try:
        while True:
            try:
                action = flow.send(reply)
            finally:
                if token_sent:
                    token_sent = False
                    await gate.notify()
            if isinstance(action, Send):
                token_sent = action.purpose == "token"
                reply = yield action
            elif isinstance(action, Sleep) and is_seconds(action.seconds):
                await sleep(action.seconds)
                reply = None
            elif not isinstance(action, AwaitRefresh):
                raise not_an_action(action)
            else:
                await gate.wait(action.cache)
                reply = None
    except StopIteration as stop:
        yield stop.value
    finally:
        flow.close()
        if token_sent:
            await gate.notify()


def run_flow_sync(
    flow: Flow,
    send: SendFn,
    sleep: Callable[[float], None],
    gate: RefreshGate,
) -> HttpResponse:
    """Drive ``flow`` to its end with blocking ``send`` and ``sleep``; return its response.

    ``send`` must turn connection failures into ``TransportError``. A
    ``StrategyError`` raised by the flow propagates to the caller.
    """
    driver = drive_sync(flow, sleep, gate)
    try:
        action = next(driver)
        while True:
            action = driver.send(send(action.request, action.purpose))
    except StopIteration as stop:
        result: HttpResponse = stop.value
        return result
    finally:
        driver.close()


async def run_flow_async(
    flow: Flow,
    send: AsyncSendFn,
    sleep: Callable[[float], Awaitable[None]],
    gate: AsyncRefreshGate,
) -> HttpResponse:
    """The asyncio twin of ``run_flow_sync``."""
    driver = drive_async(flow, sleep, gate)
    try:
        item = await anext(driver)
        while isinstance(item, Send):
            item = await driver.asend(await send(item.request, item.purpose))
        return item
    finally:
        await driver.aclose()
