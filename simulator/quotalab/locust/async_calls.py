"""Async own clients under locust: their calls run on one asyncio loop per process.

Locust's users are greenlets of one thread (gevent), so a client cannot run
an event loop per call there (``asyncio.run`` refuses once two users
overlap). Each locust process keeps one loop instead, run forever in a
greenlet of its own: locust's monkey-patching makes the loop's selector
gevent's, so the loop waits on its sockets as the users wait on theirs. A
user hands what ``call_api`` returned (a coroutine, or any awaitable) to the
loop and waits on a gevent event until it is done, as a production service
awaits it; a user ended while it waits cancels its call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from concurrent.futures import CancelledError
from typing import Any, TypeVar

import gevent
from gevent.event import Event

T = TypeVar("T")


class CallStopped(Exception):
    """The awaited call raised ``error``, an exception that is not an ``Exception``
    (``SystemExit``, ``KeyboardInterrupt``, a ``BaseException`` of its own): the run
    stops, as when a blocking ``call_api`` raises it."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


async def _awaited(awaitable: Awaitable[T]) -> T:
    """``awaitable``'s value; what would end the loop itself is handed back instead."""
    try:
        return await awaitable
    except (Exception, asyncio.CancelledError, GeneratorExit):  # its own, or it is cancelled
        raise
    except BaseException as error:  # sys.exit(), Ctrl-C, any other non-Exception
        raise CallStopped(error) from None


class AsyncCalls:
    """One asyncio loop for every async call of this process, started at the first."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: gevent.Greenlet | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._runner is None or self._runner.dead:
            self._loop = asyncio.new_event_loop()
            self._runner = gevent.spawn(self._loop.run_forever)
        return self._loop

    def wait_for(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` on the loop and wait for its value, or its exception
        (``CallStopped`` for one that is not an ``Exception``)."""
        future = asyncio.run_coroutine_threadsafe(_awaited(awaitable), self._running_loop())
        done = Event()
        future.add_done_callback(lambda _: done.set())
        try:
            done.wait()
        except BaseException:  # GreenletExit: locust ended this user while its call ran
            future.cancel()
            raise
        try:
            value: Any = future.result()
        except CancelledError:  # cancelled by the client's own code, not by this user
            raise RuntimeError("the call was cancelled (asyncio.CancelledError)") from None
        return value  # type: ignore[no-any-return]
