"""How tests reach Redis, for the store fixture and the multi-process tests.

Redis comes from ``QUOTALAB_REDIS_URL``. Unset: the Redis cases are skipped.
Set but unreachable: they fail under ``CI=true`` (CI must test Redis) and are
skipped with the reason elsewhere. Each test gets its own namespace, deleted
afterwards, so parallel runs and a real server on the same Redis never mix.
"""

from __future__ import annotations

import os
import uuid

import pytest

from quotalab.errors import StoreUnavailable
from quotalab.limits.redis_store import RedisStore

REDIS_URL_ENV = "QUOTALAB_REDIS_URL"


def redis_url() -> str:
    """The Redis URL to test against, or skip (fail in CI) when there is none."""
    url = os.environ.get(REDIS_URL_ENV, "")
    if not url:
        pytest.skip(f"{REDIS_URL_ENV} is not set")
    return url


def open_test_redis(namespace: str) -> RedisStore:
    """A RedisStore on its own namespace; unreachable Redis fails in CI, skips locally."""
    url = redis_url()
    try:
        return RedisStore.from_url(url, namespace=namespace)
    except StoreUnavailable as error:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must test the Redis store: {error}")
        pytest.skip(str(error))


def fresh_namespace() -> str:
    """A namespace no other test or process uses."""
    return f"quotalab-test:{uuid.uuid4().hex[:12]}:"
