"""Per-client counters behave the same in memory and in Redis; Redis shares them."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis_fixtures import fresh_namespace, redis_url

from quotalab.counters import Counters, MemoryCounters, RedisCounters


def _redis_counters(namespace: str) -> RedisCounters:
    url = redis_url()
    return RedisCounters.from_url(url, namespace=namespace)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def counters(request: pytest.FixtureRequest) -> Iterator[Counters]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    shared = _redis_counters(fresh_namespace())
    try:
        yield shared
    finally:
        shared.reset()
        shared.close()


def test_counts_per_client_and_resets(counters: Counters) -> None:
    counters.incr("a", "token_requests")
    counters.incr("a", "token_requests", 2)
    counters.incr("b", "throttled_429")
    counters.incr("client:with:colons", "api_ok")
    assert counters.snapshot() == {
        "a": {"token_requests": 3},
        "b": {"throttled_429": 1},
        "client:with:colons": {"api_ok": 1},
    }
    counters.reset()
    assert counters.snapshot() == {}


def test_a_pair_counts_like_two_increments(counters: Counters) -> None:
    tight = MemoryCounters(max_tracked_clients=1) if isinstance(counters, MemoryCounters) else None
    for each in (counters, tight):
        if each is None:
            continue
        each.incr("a", "token_requests")
        each.incr_pair("a", "token_requests", "throttled_429")
        each.incr_pair("b", "token_requests", "token_requests")
    assert counters.snapshot() == {
        "a": {"token_requests": 2, "throttled_429": 1},
        "b": {"token_requests": 2},
    }
    if tight is not None:  # a second id is counted under "other", as incr would
        assert tight.snapshot() == {
            "a": {"token_requests": 2, "throttled_429": 1},
            "other": {"token_requests": 2},
        }


def test_no_increment_is_lost_under_threads(counters: Counters) -> None:
    def worker(i: int) -> None:
        for _ in range(100):
            counters.incr(f"c{i % 2}", "token_requests")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert counters.snapshot() == {"c0": {"token_requests": 400}, "c1": {"token_requests": 400}}


@pytest.mark.redis
def test_two_workers_share_one_set_of_counts() -> None:
    namespace = fresh_namespace()
    first, second = _redis_counters(namespace), _redis_counters(namespace)
    other = _redis_counters(fresh_namespace())
    try:
        first.incr("demo-client", "tokens_issued")
        second.incr("demo-client", "tokens_issued", 4)
        other.incr("demo-client", "tokens_issued")
        assert first.snapshot() == second.snapshot() == {"demo-client": {"tokens_issued": 5}}
        second.reset()
        assert first.snapshot() == {}
        assert other.snapshot() == {"demo-client": {"tokens_issued": 1}}
    finally:
        for counters in (first, second, other):
            counters.reset()
            counters.close()
