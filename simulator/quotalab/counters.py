"""Per-client event counters (token requests, 429s, API successes, ...).

The server counts through this protocol so that several server workers can
share one set of counts (the Redis implementation) while a single process
uses the in-memory one.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from quotalab.errors import InputError

if TYPE_CHECKING:
    import redis

_T = TypeVar("_T")


class Counters(Protocol):
    """Named integer counters grouped by client id."""

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name`` of ``client_id``."""
        ...

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every client's counters: ``{client_id: {name: value}}``."""
        ...

    def reset(self) -> None:
        """Set every counter back to nothing."""
        ...


class MemoryCounters:
    """Counters in this process, safe under threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: defaultdict[str, defaultdict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[client_id][name] += amount

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {client: dict(names) for client, names in self._counts.items()}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RedisCounters:
    """Counters in Redis, shared by every server worker.

    One hash per client (``HINCRBY``) plus a set of client ids, all under
    ``namespace``; ``reset`` deletes that namespace and nothing else.
    """

    def __init__(
        self, client: redis.Redis, *, namespace: str = "quotalab:count:", url: str = ""
    ) -> None:
        from quotalab.limits.redis_store import redacted

        self._client = client
        self.namespace = namespace
        self._clients_key = f"{namespace}clients"
        self._where = redacted(url) if url else "Redis"

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "quotalab:count:") -> RedisCounters:
        """Connect to ``url``; ``StoreUnavailable`` in one line if unreachable."""
        from quotalab.limits.redis_store import connect

        return cls(connect(url), namespace=namespace, url=url)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def _client_key(self, client_id: str) -> str:
        return f"{self.namespace}client:{client_id}"

    def _call(self, action: Callable[[], _T]) -> _T:
        from quotalab.limits.redis_store import guarded

        return guarded(self._where, action)

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        pipe = self._client.pipeline(transaction=False)
        pipe.sadd(self._clients_key, client_id)
        pipe.hincrby(self._client_key(client_id), name, amount)
        self._call(pipe.execute)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self._call(self._snapshot)

    def _snapshot(self) -> dict[str, dict[str, int]]:
        clients = sorted(str(c) for c in self._client.smembers(self._clients_key))
        pipe = self._client.pipeline(transaction=False)
        for client_id in clients:
            pipe.hgetall(self._client_key(client_id))
        rows = pipe.execute()
        return {
            client_id: {str(name): int(value) for name, value in row.items()}
            for client_id, row in zip(clients, rows, strict=True)
            if row
        }

    def reset(self) -> None:
        self._call(self._reset)

    def _reset(self) -> None:
        from quotalab.limits.redis_store import glob_escape

        names = list(self._client.scan_iter(match=glob_escape(self.namespace) + "*", count=1000))
        for i in range(0, len(names), 500):
            self._client.unlink(*names[i : i + 500])


def open_counters(url: str = "memory://") -> Counters:
    """Counters for a store URL: ``memory://`` in-process, ``redis://...`` shared."""
    if url in ("memory://", "memory", ""):
        return MemoryCounters()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCounters.from_url(url)
    raise InputError(
        f"unsupported counters URL {url!r}: expected memory:// or redis://host:port/db"
    )
