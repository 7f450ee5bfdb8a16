"""Concurrent callers at token expiry: one fetch with single-flight, a herd without it.

The token route holds the first fetch until the other 49 callers are parked on
the refresh gate (single-flight), or until all 50 fetches have arrived at once
(a barrier: the herd). If the strategy serialised or stampeded when it should
not, the hold would time out and the test would fail.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import respx

from quotalab.clock import VirtualClock
from quotalab.drivers import StrategyAuth
from quotalab.errors import CredentialsError
from quotalab.strategies import ClientSettings, TokenPolicy, make_strategy
from quotalab.strategies.messages import Strategy
from tests.strategies.conftest import API_URL, AUTH0_TOKEN_URL, Sleeper, token_body

CALLERS = 50
LIFETIME_S = 3600
HOLD_S = 10.0  # an upper bound on thread hand-offs, never a measured duration
OK = httpx.Response(200, json={})


def wait_until(predicate: Callable[[], bool]) -> None:
    """Block until ``predicate`` holds; fail the test after ``HOLD_S``."""
    done = threading.Event()
    for _ in range(int(HOLD_S / 0.001)):
        if predicate():
            return
        done.wait(0.001)
    raise AssertionError("concurrent callers never reached the expected point")


def build(name: str, settings: ClientSettings, clock: VirtualClock, **kw: object) -> Strategy:
    return make_strategy(name, settings, clock=clock, rng=random.Random(1), **kw)  # type: ignore[arg-type]


HERD_CASES = [
    pytest.param(
        "cached", {"token_policy": TokenPolicy(single_flight=False)}, id="cached-no-single-flight"
    ),
    pytest.param("article", {}, id="article"),
]
SINGLE_FLIGHT_CASES = ["cached", "cached+backoff"]


def warm_then_expire(client: httpx.Client, clock: VirtualClock) -> None:
    assert client.get(API_URL).status_code == 200
    clock.advance(LIFETIME_S)  # past expiry minus any margin


@pytest.mark.parametrize("name", SINGLE_FLIGHT_CASES)
@respx.mock
def test_threads_at_expiry_share_one_fetch(
    name: str, auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    auth = StrategyAuth(build(name, auth0, clock), sleep=sleeper)
    fetches = {"n": 0}

    def issue(request: httpx.Request) -> httpx.Response:
        fetches["n"] += 1
        if fetches["n"] == 2:
            wait_until(lambda: auth.gate.waiting == CALLERS - 1)
        return token_body(fetches["n"], LIFETIME_S)

    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=issue)
    api = respx.get(API_URL).mock(return_value=OK)
    with httpx.Client(auth=auth) as client:
        warm_then_expire(client, clock)
        with ThreadPoolExecutor(CALLERS) as pool:
            statuses = list(pool.map(lambda _: client.get(API_URL).status_code, range(CALLERS)))
    assert statuses == [200] * CALLERS
    assert token.call_count == 2  # the warm-up fetch and one shared refresh
    assert {c.request.headers["authorization"] for c in api.calls[1:]} == {"Bearer tok-2"}


@pytest.mark.parametrize(("name", "kw"), HERD_CASES)
@respx.mock
def test_threads_at_expiry_stampede_without_single_flight(
    name: str, kw: dict[str, object], auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    auth = StrategyAuth(build(name, auth0, clock, **kw), sleep=sleeper)
    barrier = threading.Barrier(CALLERS, timeout=HOLD_S)
    fetches = {"n": 0}
    lock = threading.Lock()

    def issue(request: httpx.Request) -> httpx.Response:
        with lock:
            fetches["n"] += 1
            n = fetches["n"]
        if n > 1:
            barrier.wait()  # every caller is fetching at the same time
        return token_body(n, LIFETIME_S)

    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=issue)
    respx.get(API_URL).mock(return_value=OK)
    with httpx.Client(auth=auth) as client:
        warm_then_expire(client, clock)
        with ThreadPoolExecutor(CALLERS) as pool:
            statuses = list(pool.map(lambda _: client.get(API_URL).status_code, range(CALLERS)))
    assert statuses == [200] * CALLERS
    assert token.call_count == 1 + CALLERS


@respx.mock
def test_a_failed_refresh_is_shared_with_waiters_not_retried_by_each(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    auth = StrategyAuth(build("cached", auth0, clock), sleep=sleeper)
    fetches = {"n": 0}

    def issue(request: httpx.Request) -> httpx.Response:
        fetches["n"] += 1
        if fetches["n"] == 1:
            return token_body(1, LIFETIME_S)
        wait_until(lambda: auth.gate.waiting == CALLERS - 1)
        return httpx.Response(
            401, json={"error": "access_denied", "error_description": "Unauthorized"}
        )

    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=issue)
    respx.get(API_URL).mock(return_value=OK)

    def call(_: int) -> str:
        try:
            client.get(API_URL)
        except CredentialsError:
            return "refused"
        return "ok"

    with httpx.Client(auth=auth) as client:
        warm_then_expire(client, clock)
        with ThreadPoolExecutor(CALLERS) as pool:
            outcomes = list(pool.map(call, range(CALLERS)))
    assert outcomes == ["refused"] * CALLERS
    assert token.call_count == 2


async def _gather_calls(client: httpx.AsyncClient) -> list[int]:
    responses = await asyncio.gather(*(client.get(API_URL) for _ in range(CALLERS)))
    return [r.status_code for r in responses]


@pytest.mark.anyio
@pytest.mark.parametrize("name", SINGLE_FLIGHT_CASES)
@respx.mock
async def test_tasks_at_expiry_share_one_fetch(
    name: str, auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    auth = StrategyAuth(build(name, auth0, clock), async_sleep=sleeper.asleep)
    fetches = {"n": 0}

    async def issue(request: httpx.Request) -> httpx.Response:
        fetches["n"] += 1
        if fetches["n"] == 2:
            async with asyncio.timeout(HOLD_S):
                while auth.async_gate().waiting < CALLERS - 1:
                    await asyncio.sleep(0)
        return token_body(fetches["n"], LIFETIME_S)

    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=issue)
    respx.get(API_URL).mock(return_value=OK)
    async with httpx.AsyncClient(auth=auth) as client:
        assert (await client.get(API_URL)).status_code == 200
        clock.advance(LIFETIME_S)
        assert await _gather_calls(client) == [200] * CALLERS
    assert token.call_count == 2


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "kw"), HERD_CASES)
@respx.mock
async def test_tasks_at_expiry_stampede_without_single_flight(
    name: str, kw: dict[str, object], auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    auth = StrategyAuth(build(name, auth0, clock, **kw), async_sleep=sleeper.asleep)
    barrier = asyncio.Barrier(CALLERS)
    fetches = {"n": 0}

    async def issue(request: httpx.Request) -> httpx.Response:
        fetches["n"] += 1
        n = fetches["n"]
        if n > 1:
            async with asyncio.timeout(HOLD_S):
                await barrier.wait()
        return token_body(n, LIFETIME_S)

    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=issue)
    respx.get(API_URL).mock(return_value=OK)
    async with httpx.AsyncClient(auth=auth) as client:
        assert (await client.get(API_URL)).status_code == 200
        clock.advance(LIFETIME_S)
        assert await _gather_calls(client) == [200] * CALLERS
    assert token.call_count == 1 + CALLERS
