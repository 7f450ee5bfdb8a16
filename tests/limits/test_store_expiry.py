"""Bounded memory: idle keys expire, and expiring them never changes a decision."""

from __future__ import annotations

import tracemalloc
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_fixtures import fresh_namespace, open_test_redis

from quotalab.limits import (
    Algorithm,
    CounterQuota,
    FixedWindow,
    MemoryStore,
    State,
    TokenBucket,
)

T0 = 1_800_000_000.0

ALGORITHMS: list[Algorithm] = [
    TokenBucket(burst=10, refill_rate=10),
    TokenBucket(burst=7, refill_rate=2, refill="interval", interval_s=1.5),
    FixedWindow(limit=3, window_s=900),
    FixedWindow(limit=3, window_s=60, align="epoch"),
    CounterQuota(limit=5, period="hour"),
    CounterQuota(limit=5, period="month"),
]
ids = [a.key_prefix for a in ALGORITHMS]


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=ids)
def test_idle_keys_are_reclaimed_and_busy_ones_kept(algorithm: Algorithm) -> None:
    store = MemoryStore()
    for i in range(1000):
        store.apply(algorithm, f"client-{i}", T0)
    store.apply(algorithm, "busy", T0 + algorithm.idle_ttl_s / 2)
    assert len(store) == 1001
    store.apply(algorithm, "late", T0 + algorithm.idle_ttl_s)
    assert len(store) == 2  # "busy" and "late"


def test_a_limit_that_stops_receiving_traffic_gives_its_memory_back() -> None:
    store = MemoryStore()
    quiet, active = FixedWindow(limit=1, window_s=60), TokenBucket(burst=1, refill_rate=1)
    for i in range(100):
        store.apply(quiet, f"k{i}", T0)
    store.apply(active, "other", T0 + 61)
    assert len(store) == 1


def test_sweep_reports_what_it_removed() -> None:
    store = MemoryStore()
    bucket = TokenBucket(burst=2, refill_rate=1)
    for i in range(10):
        store.apply(bucket, f"k{i}", T0 + i / 8)
    assert len(store) == 10
    assert store.sweep(T0 + 2 + 4.5 / 8) == 5  # idle TTL 2 s: keys used at T0+0..T0+4/8
    assert len(store) == 5


def _trace(algorithm: Algorithm, history: list[tuple[float, int]]) -> tuple[State, float]:
    state: State | None = None
    now = T0
    for gap, cost in history:
        now += gap
        state, _ = algorithm.decide(state, now, cost)
    assert state is not None
    return state, now


@settings(max_examples=200)
@given(
    algorithm=st.sampled_from(ALGORITHMS),
    history=st.lists(st.tuples(st.floats(0, 100), st.integers(0, 3)), min_size=1, max_size=30),
    extra=st.floats(0, 1e6),
    cost=st.integers(0, 3),
)
def test_state_idle_for_its_ttl_decides_like_a_fresh_key(
    algorithm: Algorithm, history: list[tuple[float, int]], extra: float, cost: int
) -> None:
    """Dropping an idle key is safe: it would have decided exactly like a new one."""
    state, last = _trace(algorithm, history)
    later = last + algorithm.idle_ttl_s + extra
    _, kept = algorithm.decide(state, later, cost)
    _, fresh = algorithm.decide(None, later, cost)
    assert (kept.allowed, kept.remaining) == (fresh.allowed, fresh.remaining)


@pytest.mark.redis
@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=ids)
def test_redis_keys_expire_after_the_idle_ttl(algorithm: Algorithm) -> None:
    store = open_test_redis(fresh_namespace())
    try:
        store.apply(algorithm, "k", T0)
        name = f"{store.namespace}{algorithm.key_prefix}:k"
        ttl_ms = store._client.pttl(name)  # what PEXPIRE set
        expected_ms = (algorithm.idle_ttl_s + store.expiry_grace_s) * 1000
        assert expected_ms - 5000 < ttl_ms <= expected_ms + 1
    finally:
        store.reset()
        store.close()


@pytest.mark.redis
def test_redis_reset_deletes_only_its_namespace() -> None:
    mine, neighbour = open_test_redis(fresh_namespace()), open_test_redis(fresh_namespace())
    bystander = f"quotalab-test-other:{uuid.uuid4().hex}"
    try:
        mine._client.set(bystander, "1")
        bucket = TokenBucket(burst=1, refill_rate=1)
        for i in range(1200):  # more than one SCAN/UNLINK batch
            mine.apply(bucket, f"k{i}", T0)
        neighbour.apply(bucket, "k0", T0)
        assert len(mine) == 1200
        mine.reset()
        assert len(mine) == 0
        assert len(neighbour) == 1
        assert mine._client.get(bystander) == "1"
    finally:
        mine._client.delete(bystander)
        for store in (mine, neighbour):
            store.reset()
            store.close()


def test_swept_memory_is_given_back_not_just_forgotten() -> None:
    """A dict keeps its table after deletions; the store must rebuild or drop it."""
    bucket = TokenBucket(burst=1, refill_rate=1)
    store = MemoryStore()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            store.apply(bucket, f"client-{i}", T0)
        full = tracemalloc.get_traced_memory()[0] - before
        store.apply(bucket, "one-more", T0 + 1.5)  # sweeps the 20,000 idle keys
        after = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(store) == 1
    assert after < full / 20
