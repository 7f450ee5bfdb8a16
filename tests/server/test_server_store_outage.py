"""A Redis that dies or freezes: 503 with ``Retry-After`` within a second, no stalled
event loop, no count lost that the server holds, and service back by itself.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters, RedisCounters
from quotalab.errors import StoreUnavailable
from quotalab.limits.redis_store import OutageBreaker, RedisStore, connect
from quotalab.profiles import load_config
from quotalab.server import MockProvider
from quotalab.server.asgi import create_app
from server.builders import AUDIENCE
from server.conftest import FakeMonotonic, shared_keys
from server.own_redis import OwnRedis, own_redis

__all__ = ["own_redis"]

TOKEN_REQUEST = {
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "grant_type": "client_credentials",
    "audience": AUDIENCE,
}


def _provider(url: str, monotonic: FakeMonotonic) -> MockProvider:
    store = RedisStore(connect(url), url=url, breaker=OutageBreaker(url, monotonic=monotonic))
    return MockProvider(
        load_config("auth0"),
        VirtualClock(),
        store,
        MemoryCounters(),
        keys=shared_keys(),
        base_url="http://127.0.0.1:8000",
    )


def _client(provider: MockProvider) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(provider))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


async def _timed_token(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post("/oauth/token", json=TOKEN_REQUEST)
    return response, time.perf_counter() - started


@pytest.mark.redis
@pytest.mark.anyio
async def test_killed_redis_is_a_503_with_retry_after_and_service_comes_back(
    own_redis: OwnRedis,
) -> None:
    monotonic = FakeMonotonic()
    provider = _provider(own_redis.url, monotonic)
    async with _client(provider) as client:
        assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200
        own_redis.kill()
        answers = [await _timed_token(client) for _ in range(20)]
        assert {r.status_code for r, _ in answers} == {503}
        assert all(r.headers["retry-after"] == "1" for r, _ in answers)
        assert max(seconds for _, seconds in answers) < 1.5  # the bound is 1 s
        # Counts the server holds are still there and still readable.
        stats = await client.get("/_admin/stats")
        assert stats.status_code == 200
        assert stats.json()["clients"]["demo-client"]["token_requests"] == 21
        assert stats.json()["store"].startswith("lost Redis at redis://127.0.0.1:")
        assert (await client.get("/metrics")).status_code == 200
        own_redis.start()
        monotonic.now_s += 2.0  # the cooldown is over: the next request tries Redis again
        assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200


@pytest.mark.redis
@pytest.mark.anyio
async def test_frozen_redis_is_a_503_within_a_second_and_never_stalls_the_event_loop(
    own_redis: OwnRedis,
) -> None:
    monotonic = FakeMonotonic()
    provider = _provider(own_redis.url, monotonic)
    async with _client(provider) as client:
        assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200
        own_redis.freeze()
        try:
            waiting = asyncio.create_task(_timed_token(client))
            for _ in range(5):
                await asyncio.sleep(0)  # let the token request reach Redis
            # A request that needs no Redis is answered while the other one waits.
            jwks = await client.get("/.well-known/jwks.json")
            assert jwks.status_code == 200
            assert not waiting.done()
            response, seconds = await waiting
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert seconds < 1.5  # the bound is 1 s
            # While the cooldown lasts, answers come at once without asking Redis.
            quick, quick_s = await _timed_token(client)
            assert quick.status_code == 503
            assert quick_s < 0.25
        finally:
            own_redis.thaw()
        monotonic.now_s += 2.0
        assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200


@pytest.mark.redis
def test_counts_made_during_an_outage_reach_redis_when_it_returns(
    own_redis: OwnRedis,
) -> None:
    monotonic = FakeMonotonic()
    breaker = OutageBreaker(own_redis.url, monotonic=monotonic)
    counters = RedisCounters(connect(own_redis.url), url=own_redis.url, breaker=breaker)
    counters.incr("demo-client", "token_requests")
    own_redis.kill()  # without persistence: the count above dies with it
    for n in range(9):
        if n % 3 == 0:
            monotonic.now_s += 2.0  # cooldown over: this count retries Redis, and fails
        with pytest.raises(StoreUnavailable, match=r"lost Redis at redis://127\.0\.0\.1:"):
            counters.incr("demo-client", "token_requests")
    own_redis.start()
    monotonic.now_s += 2.0
    counters.incr("demo-client", "token_requests")
    assert counters.snapshot() == {"demo-client": {"token_requests": 10}}
    counters.close()
