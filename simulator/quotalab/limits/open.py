"""Open a ``Store`` from a URL given on the command line or in config."""

from __future__ import annotations

from quotalab.errors import InputError
from quotalab.limits.store import MemoryStore, Store

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(url: str = "memory://") -> Store:
    """``memory://`` is the in-process default; ``redis://host:port/db`` is shared.

    Raises ``StoreUnavailable`` (one line) when Redis cannot be reached and
    ``InputError`` for a URL no store understands.
    """
    if url in ("memory://", "memory"):
        return MemoryStore()
    if url.startswith(REDIS_SCHEMES):
        from quotalab.limits.redis_store import RedisStore  # redis only when asked for

        return RedisStore.from_url(url)
    raise InputError(f"unsupported store URL {url!r}: expected memory:// or redis://host:port/db")
