"""Per-client counters stay bounded however many client ids requests invent."""

from __future__ import annotations

import gc
import json
import tracemalloc

import pytest

from quotalab.counters import OTHER_CLIENTS, MemoryCounters, RedisCounters
from quotalab.server.asgi import create_app
from quotalab.wire import HttpRequest
from server.conftest import FakeMonotonic, MakeProvider

JSON = ("content-type", "application/json")


def _token_request(client_id: str) -> HttpRequest:
    body = json.dumps({"grant_type": "client_credentials", "client_id": client_id})
    return HttpRequest("POST", "/oauth/token", (JSON,), body.encode())


def test_ids_beyond_the_default_cap_are_counted_together_as_other(
    make_provider: MakeProvider,
) -> None:
    provider = make_provider("auth0", "[provider]\nlimits_enabled = false\n")
    for n in range(12_000):
        provider.handle(_token_request(f"invented-{n}"))
    clients = provider.stats()["clients"]
    assert len(clients) == 10_001  # 10,000 tracked one by one, then "other"
    assert clients[OTHER_CLIENTS]["token_requests"] == 2_000
    assert sum(c["token_requests"] for c in clients.values()) == 12_000
    metrics = create_app(provider).metrics.render().decode()
    series = [line for line in metrics.splitlines() if line.startswith("quotalab_client_events")]
    assert len(series) <= 2 * 10_001


def test_an_idle_id_gives_its_place_up_and_its_counts_join_other() -> None:
    monotonic = FakeMonotonic()
    counters = MemoryCounters(max_tracked_clients=2, idle_ttl_s=60.0, monotonic=monotonic)
    counters.incr("a", "token_requests", 3)
    counters.incr("b", "token_requests")
    counters.incr("c", "token_requests")  # no room, nobody idle: other
    assert counters.snapshot() == {
        "a": {"token_requests": 3},
        "b": {"token_requests": 1},
        OTHER_CLIENTS: {"token_requests": 1},
    }
    monotonic.now_s = 30.0
    counters.incr("b", "token_requests")  # b is busy, a is the idlest
    monotonic.now_s = 61.0
    counters.incr("d", "token_requests")  # a idle for 61 s: d takes its place
    assert counters.snapshot() == {
        "b": {"token_requests": 2},
        "d": {"token_requests": 1},
        OTHER_CLIENTS: {"token_requests": 4},
    }


def test_reset_gives_the_memory_of_many_ids_back(make_provider: MakeProvider) -> None:
    provider = make_provider()
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            provider.handle(_token_request(f"invented-{n}"))
        grown = tracemalloc.get_traced_memory()[0] - baseline
        provider.reset()
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert grown > 2_000_000  # the test measures something
    assert kept < grown / 20, (grown, kept)


@pytest.mark.redis
def test_redis_counters_are_bounded_and_every_key_expires() -> None:
    from quotalab.limits.redis_store import connect
    from tests.limits.redis_fixtures import fresh_namespace, open_test_redis, redis_url

    open_test_redis(fresh_namespace()).close()  # skips locally / fails in CI without Redis
    client = connect(redis_url())
    namespace = fresh_namespace()
    counters = RedisCounters(client, namespace=namespace, max_tracked_clients=3)
    try:
        for n in range(10):
            counters.incr(f"client-{n}", "token_requests")
        snapshot = counters.snapshot()
        assert len(snapshot) == 4
        assert snapshot[OTHER_CLIENTS] == {"token_requests": 7}
        names = list(client.scan_iter(match=namespace + "*"))
        assert len(names) == 5  # the id set, three hashes and other
        assert all(0 < client.pttl(name) <= 86_400_000 for name in names)
    finally:
        counters.reset()
        counters.close()
