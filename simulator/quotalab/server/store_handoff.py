"""Calling a provider whose store blocks (Redis) without blocking the event loop.

The in-memory store answers in microseconds and is called inline. A Redis
store waits on a socket, so its calls run on a small pool of threads and the
event loop keeps serving; if no answer comes within ``answer_within_s`` the
request gets the profile's 503 with ``Retry-After`` instead of waiting on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from quotalab.counters import MemoryCounters
from quotalab.limits import MemoryStore
from quotalab.server.mock_provider import MockProvider, ProviderReply
from quotalab.server.request_plans import RequestPlan

_T = TypeVar("_T")

ANSWER_WITHIN_S = 1.0
"""A token request is answered within this long, if need be with a 503."""

READ_WITHIN_S = 10.0
"""``/metrics`` and ``/_admin/*`` read every tracked key: they get longer."""

MAX_STORE_THREADS = 16


def store_blocks(provider: MockProvider) -> bool:
    """Whether answering may wait on a network store (anything but memory)."""
    return not isinstance(provider.limiter.store, MemoryStore) or not isinstance(
        provider.counters, MemoryCounters
    )


class StoreHandOff:
    """A bounded thread pool running blocking provider calls under a deadline."""

    def __init__(
        self,
        provider: MockProvider,
        *,
        answer_within_s: float = ANSWER_WITHIN_S,
        max_threads: int = MAX_STORE_THREADS,
    ) -> None:
        self.provider = provider
        self.answer_within_s = answer_within_s
        self._pool = ThreadPoolExecutor(max_threads, thread_name_prefix="quotalab-store")

    async def call(self, action: Callable[[], _T], within_s: float) -> _T | None:
        """``action()`` run on the pool, or ``None`` when it took longer than ``within_s``.

        A call still queued when its time is up is cancelled, so it never
        consumes quota for a request that was already answered 503.
        """
        future = asyncio.get_running_loop().run_in_executor(self._pool, action)
        try:
            return await asyncio.wait_for(future, within_s)
        except TimeoutError:
            return None

    async def answer(self, plan: RequestPlan) -> ProviderReply:
        """The provider's answer to ``plan``, or its store-unavailable 503 after the deadline."""
        within_s = self.answer_within_s
        if plan.incoming.path.startswith("/_admin/"):
            within_s = READ_WITHIN_S
        reply = await self.call(lambda: self.provider.answer(plan), within_s)
        return reply if reply is not None else ProviderReply(self.provider.store_unavailable())

    def close(self) -> None:
        """Stop the threads (those waiting on Redis end at its socket timeout)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
