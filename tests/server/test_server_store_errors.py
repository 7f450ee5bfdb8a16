"""A Redis that answers with errors, a reset it cannot do, a password in its URL."""

from __future__ import annotations

import logging

import httpx
import pytest
import redis

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters, RedisCounters
from quotalab.errors import StoreUnavailable
from quotalab.limits.redis_store import OutageBreaker, RedisStore, connect
from quotalab.profiles import load_config
from quotalab.server import MockProvider
from quotalab.server.asgi import create_app
from quotalab.wire import HttpRequest
from server.conftest import FakeMonotonic, shared_keys
from server.own_redis import OwnRedis, own_redis
from server.test_server_store_outage import TOKEN_REQUEST

__all__ = ["own_redis"]

BASE_URL = "http://127.0.0.1:8000"
ADMIN = {"content-type": "application/json"}


def _provider(store: RedisStore) -> MockProvider:
    return MockProvider(
        load_config("auth0"),
        VirtualClock(),
        store,
        MemoryCounters(),
        keys=shared_keys(),
        base_url=BASE_URL,
    )


def _client(provider: MockProvider) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(provider))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_redis_refusing_writes_is_a_503_with_retry_after_and_one_log_line(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    monotonic = FakeMonotonic()
    breaker = OutageBreaker(own_redis.url, monotonic=monotonic)
    provider = _provider(RedisStore(connect(own_redis.url), breaker=breaker))
    admin = redis.Redis(port=own_redis.port)
    async with _client(provider) as client:
        assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200
        admin.config_set("maxmemory", 1)  # every write is now refused: OOM
        with caplog.at_level(logging.WARNING, logger="quotalab.store"):
            response = await client.post("/oauth/token", json=TOKEN_REQUEST)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert "error" in response.json()
        [record] = caplog.records
        assert "maxmemory" in record.getMessage() and "\n" not in record.getMessage()
        stats = await client.get("/_admin/stats")
        assert stats.json()["store"].startswith("error from Redis at")
        admin.config_set("maxmemory", 0)
        monotonic.now_s += 2.0  # the cooldown is over
        assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200
    admin.close()


@pytest.mark.redis
def test_counts_refused_by_redis_are_kept_and_sent_when_it_accepts_again(
    own_redis: OwnRedis,
) -> None:
    monotonic = FakeMonotonic()
    breaker = OutageBreaker(own_redis.url, monotonic=monotonic)
    counters = RedisCounters(connect(own_redis.url), breaker=breaker)
    admin = redis.Redis(port=own_redis.port)
    admin.config_set("maxmemory", 1)
    for _ in range(3):
        monotonic.now_s += 2.0
        with pytest.raises(StoreUnavailable, match="maxmemory"):
            counters.incr("demo-client", "token_requests")
    admin.config_set("maxmemory", 0)
    monotonic.now_s += 2.0
    counters.incr("demo-client", "token_requests")
    assert counters.snapshot() == {"demo-client": {"token_requests": 4}}
    counters.close()
    admin.close()


@pytest.mark.redis
@pytest.mark.anyio
async def test_a_reset_the_store_cannot_do_changes_nothing(own_redis: OwnRedis) -> None:
    monotonic = FakeMonotonic()
    breaker = OutageBreaker(own_redis.url, monotonic=monotonic)
    provider = _provider(RedisStore(connect(own_redis.url), breaker=breaker))
    async with _client(provider) as client:
        for _ in range(3):
            assert (await client.post("/oauth/token", json=TOKEN_REQUEST)).status_code == 200
        own_redis.freeze()
        try:
            reset = await client.post("/_admin/reset", headers=ADMIN)
        finally:
            own_redis.thaw()
        assert reset.status_code == 503
        assert reset.headers["retry-after"] == "1"
        monotonic.now_s += 2.0
        stats = (await client.get("/_admin/stats")).json()
        assert stats["clients"]["demo-client"]["token_requests"] == 3
        assert any(limit["remaining"] < limit["limit"] for limit in stats["limits"].values())
        assert (await client.post("/_admin/reset", headers=ADMIN)).status_code == 200
        stats = (await client.get("/_admin/stats")).json()
        assert stats["clients"] == {}


@pytest.mark.redis
def test_a_password_in_the_query_never_reaches_stats(own_redis: OwnRedis) -> None:
    shown_url = own_redis.url + "?password=S3CR3T"
    provider = _provider(RedisStore(connect(own_redis.url), url=shown_url))
    request = HttpRequest("POST", "/oauth/token", (("content-type", "application/json"),))
    provider.handle(request)  # a limit key to read back
    own_redis.kill()
    store = provider.stats()["store"]
    assert store.startswith(f"lost Redis at {own_redis.url}?password=***: ")
    assert "S3CR3T" not in store
