"""Opening stores and counters from URLs, and the one-line errors when that fails."""

from __future__ import annotations

import socket

import pytest
from redis_fixtures import redis_url

from quotalab.counters import MemoryCounters, RedisCounters, open_counters
from quotalab.errors import InputError, StoreUnavailable
from quotalab.limits import MemoryStore, open_store
from quotalab.limits.redis_store import RedisStore, redacted


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_memory_is_the_default() -> None:
    assert isinstance(open_store(), MemoryStore)
    assert isinstance(open_store("memory://"), MemoryStore)
    assert isinstance(open_counters(), MemoryCounters)


@pytest.mark.parametrize("opener", [open_store, open_counters])
def test_unreachable_redis_is_one_clear_line(opener: object) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with pytest.raises(StoreUnavailable) as caught:
        opener(url)  # type: ignore[operator]
    assert str(caught.value) == f"cannot reach Redis at {url}: Connection refused"


def test_passwords_stay_out_of_error_messages() -> None:
    url = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    with pytest.raises(StoreUnavailable) as caught:
        open_store(url)
    assert "hunter2" not in str(caught.value) and ":***@" in str(caught.value)
    assert redacted("redis://user:pw@host:1/0") == "redis://user:***@host:1/0"


@pytest.mark.parametrize("url", ["mysql://db", "http://127.0.0.1:6379"])
def test_unknown_schemes_are_input_errors(url: str) -> None:
    with pytest.raises(InputError, match="expected memory:// or redis://"):
        open_store(url)
    with pytest.raises(InputError, match="expected memory:// or redis://"):
        open_counters(url)


@pytest.mark.redis
def test_redis_urls_open_redis_stores_and_counters() -> None:
    url = redis_url()
    store, counters = open_store(url), open_counters(url)
    assert isinstance(store, RedisStore) and isinstance(counters, RedisCounters)
    store.close()
    counters.close()


def test_a_connection_lost_later_is_store_unavailable_not_a_crash() -> None:
    import redis

    from quotalab.limits import TokenBucket

    url = f"redis://127.0.0.1:{_closed_port()}/0"
    store = RedisStore(redis.Redis.from_url(url, socket_connect_timeout=1), url=url)
    with pytest.raises(StoreUnavailable, match=r"^lost Redis at redis://127\.0\.0\.1:\d+/0: "):
        store.apply(TokenBucket(burst=1, refill_rate=1), "k", 0.0)
    with pytest.raises(StoreUnavailable):
        store.peek(TokenBucket(burst=1, refill_rate=1), "k", 0.0)
    with pytest.raises(StoreUnavailable):
        store.reset()
