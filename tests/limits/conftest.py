"""The ``store`` fixture: every store test runs on memory and, when available, Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_fixtures import fresh_namespace, open_test_redis

from quotalab.limits import MemoryStore, Store


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh, empty store of each kind."""
    if request.param == "memory":
        yield MemoryStore()
        return
    redis_store = open_test_redis(fresh_namespace())
    try:
        yield redis_store
    finally:
        redis_store.reset()
        redis_store.close()
