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
    assert "hunter2" not in str(caught.value) and "//***@127.0.0.1:" in str(caught.value)
    assert redacted("redis://user:pw@host:1/0") == "redis://***@host:1/0"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://h:1/0?password=S3CR3T", "redis://h:1/0?password=***"),
        ("redis://h:1/0?db=0&username=S3CR3T&password=S3CR3T", None),
        ("redis://u:S3/CR#3T@h:1/0", "redis://***@h:1/0"),
        ("redis://u:S3CR3T@[::1/0", "redis://***@[::1/0"),
        ("redis://h:1/0?Password=S3#CR3T", "redis://h:1/0?Password=***"),
        ("unix:///tmp/redis.sock?password=S3CR3T", "unix:///tmp/redis.sock?password=***"),
    ],
)
def test_every_credential_form_is_masked(url: str, shown: str | None) -> None:
    assert "S3" not in redacted(url)
    if shown is not None:
        assert redacted(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "redis://:S3CR3T@127.0.0.1:notaport/0",
        "redis://:S3CR3T@127.0.0.1:99999/0",
        "redis://u:S3CR3T@[::1/0",
        "redis://:S3/CR3T@127.0.0.1:6379/0",
        "redis://:S3#CR3T@127.0.0.1:6379/0",
    ],
)
@pytest.mark.parametrize("opener", [open_store, open_counters])
def test_a_malformed_url_is_one_line_without_its_secret(url: str, opener: object) -> None:
    with pytest.raises((InputError, StoreUnavailable)) as caught:
        opener(url)  # type: ignore[operator]
    message = str(caught.value)
    assert "S3" not in message and "CR3T" not in message
    assert "\n" not in message


@pytest.mark.parametrize("url", ["mysql://db", "http://127.0.0.1:6379", ""])
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
