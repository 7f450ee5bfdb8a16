"""Per-client event counters (token requests, 429s, API successes, ...).

The server counts through this protocol so that several server workers can
share one set of counts (the Redis implementation) while a single process
uses the in-memory one.

Client ids come from requests, so both are bounded: at most
``max_tracked_clients`` ids are counted one by one and every further id is
counted together under ``OTHER_CLIENTS``, so memory, ``/_admin/stats`` and
``/metrics`` stay bounded however many ids a client invents. In memory, an id
idle for ``idle_ttl_s`` gives its place up to a new one (its counts join
``other``: totals never drop); in Redis every key expires after ``idle_ttl_s``
without use.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

from quotalab.errors import InputError

if TYPE_CHECKING:
    import redis

    from quotalab.limits.redis_store import OutageBreaker

_T = TypeVar("_T")

OTHER_CLIENTS = "other"
"""Where ids beyond ``max_tracked_clients`` are counted together."""
UNKNOWN_CLIENTS = "unknown"
"""Where the server counts every client id its profile does not configure."""
ANONYMOUS_CLIENTS = "anonymous"
"""Where the server counts requests that present no client id."""
SHARED_ROWS = frozenset({UNKNOWN_CLIENTS, ANONYMOUS_CLIENTS})
"""Rows of many ids at once: always counted, and never in the place of a real client
(``max_tracked_clients`` counts the other ids only)."""
DEFAULT_MAX_TRACKED_CLIENTS = 10_000
DEFAULT_IDLE_TTL_S = 86_400.0


class Counters(Protocol):
    """Named integer counters grouped by client id."""

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name`` of ``client_id``."""
        ...

    def incr_pair(self, client_id: str, first: str, second: str) -> None:
        """Add one to counters ``first`` and ``second`` of ``client_id`` (a refusal's two)."""
        ...

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Every client's counters: ``{client_id: {name: value}}``."""
        ...

    def reset(self) -> None:
        """Set every counter back to nothing."""
        ...


class _Row:
    __slots__ = ("counts", "seen_at")

    def __init__(self, seen_at: float) -> None:
        self.counts: dict[str, int] = {}
        self.seen_at = seen_at


class MemoryCounters:
    """Counters in this process, safe under threads, bounded in the ids they hold.

    Rows are kept least recently used first, so the one row that may give
    its place up is always the first: O(1) per count.
    """

    def __init__(
        self,
        *,
        max_tracked_clients: int = DEFAULT_MAX_TRACKED_CLIENTS,
        idle_ttl_s: float = DEFAULT_IDLE_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_tracked_clients < 1:
            raise InputError(f"max tracked clients must be >= 1, got {max_tracked_clients}")
        self.max_tracked_clients = max_tracked_clients
        self.idle_ttl_s = idle_ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, _Row] = OrderedDict()  # one id's each
        self._shared: dict[str, _Row] = {}  # ``SHARED_ROWS``: never among ``_rows``
        self._other: dict[str, int] = {}

    def _row_locked(self, client_id: str, now: float) -> _Row | None:
        """``client_id``'s row, made if there is room; ``None``: count it as other."""
        row = self._rows.get(client_id)
        if row is not None:
            self._rows.move_to_end(client_id)
            return row
        if client_id in SHARED_ROWS:
            row = self._shared.get(client_id)
            if row is None:
                row = self._shared[client_id] = _Row(now)
            return row
        if len(self._rows) >= self.max_tracked_clients:
            oldest = next(iter(self._rows.values()))
            if now - oldest.seen_at < self.idle_ttl_s:
                return None
            _, idle = self._rows.popitem(last=False)
            for name, value in idle.counts.items():
                self._other[name] = self._other.get(name, 0) + value
        row = self._rows[client_id] = _Row(now)
        return row

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        now = self._monotonic()
        with self._lock:
            rows = self._rows
            row = rows.get(client_id)
            if row is not None:  # a tracked id: the usual case, kept short
                rows.move_to_end(client_id)
            elif client_id != OTHER_CLIENTS:
                row = self._row_locked(client_id, now)
            counts = self._other if row is None else row.counts
            counts[name] = counts.get(name, 0) + amount
            if row is not None:
                row.seen_at = now

    def incr_pair(self, client_id: str, first: str, second: str) -> None:
        now = self._monotonic()
        with self._lock:
            rows = self._rows
            row = rows.get(client_id)
            if row is not None:
                rows.move_to_end(client_id)
            elif client_id != OTHER_CLIENTS:
                row = self._row_locked(client_id, now)
            counts = self._other if row is None else row.counts
            counts[first] = counts.get(first, 0) + 1
            counts[second] = counts.get(second, 0) + 1
            if row is not None:
                row.seen_at = now

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = (*self._shared.items(), *self._rows.items())
            out = {client: dict(row.counts) for client, row in rows}
            if self._other:
                out[OTHER_CLIENTS] = dict(self._other)
            return out

    def reset(self) -> None:
        with self._lock:
            # New containers, not clear(): the memory of a million rows goes back.
            self._rows = OrderedDict()
            self._shared = {}
            self._other = {}


_REDIS_INCR = """
-- KEYS: set of tracked ids, this id's hash (other's hash for "other" itself), the
-- hash of other ids
-- ARGV: client id, counter name, amount, max tracked ids, ttl ms, the shared rows' ids
-- (always tracked, and not in the place of one id: the cap grows by those present)
local key = KEYS[3]
if KEYS[2] ~= KEYS[3] then
  local tracked = redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1
  local cap = tonumber(ARGV[4])
  local shared = false
  for i = 6, #ARGV do
    if ARGV[i] == ARGV[1] then shared = true end
    cap = cap + redis.call('SISMEMBER', KEYS[1], ARGV[i])
  end
  if not tracked and (shared or redis.call('SCARD', KEYS[1]) < cap) then
    redis.call('SADD', KEYS[1], ARGV[1])
    tracked = true
  end
  if tracked then key = KEYS[2] end
end
redis.call('HINCRBY', key, ARGV[2], ARGV[3])
redis.call('PEXPIRE', key, ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 0
"""


class RedisCounters:
    """Counters in Redis, shared by every server worker.

    One hash per tracked client plus one for ``other`` and a set of tracked
    ids, all under ``namespace`` and all expiring after ``idle_ttl_s`` unused;
    ``reset`` deletes that namespace and nothing else. While Redis is known
    to be down (the breaker's cooldown) counts wait here, bounded, and are
    sent with the first count that reaches Redis again.
    """

    MAX_PENDING = 10_000

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = "quotalab:count:",
        url: str = "",
        max_tracked_clients: int = DEFAULT_MAX_TRACKED_CLIENTS,
        idle_ttl_s: float = DEFAULT_IDLE_TTL_S,
        breaker: OutageBreaker | None = None,
    ) -> None:
        from quotalab.limits.redis_store import OutageBreaker, redacted

        self._client = client
        self.namespace = namespace
        self.max_tracked_clients = max_tracked_clients
        self._ttl_ms = max(1, round(idle_ttl_s * 1000))
        self._clients_key = f"{namespace}clients"
        self._other_key = f"{namespace}other"
        self.breaker = breaker or OutageBreaker(redacted(url) if url else "Redis")
        self._incr_script = client.register_script(_REDIS_INCR)
        self._pending_lock = threading.Lock()
        self._pending: dict[tuple[str, str], int] = {}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        namespace: str = "quotalab:count:",
        max_tracked_clients: int = DEFAULT_MAX_TRACKED_CLIENTS,
    ) -> RedisCounters:
        """Connect to ``url``; ``StoreUnavailable`` in one line if unreachable."""
        from quotalab.limits.redis_store import connect

        return cls(
            connect(url), namespace=namespace, url=url, max_tracked_clients=max_tracked_clients
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def _client_key(self, client_id: str) -> str:
        return f"{self.namespace}client:{client_id}"

    def _call(self, action: Callable[[], _T]) -> _T:
        return self.breaker.call(action)

    def _keep(self, client_id: str, name: str, amount: int) -> None:
        with self._pending_lock:
            key = (client_id, name)
            if key not in self._pending and len(self._pending) >= self.MAX_PENDING:
                key = (OTHER_CLIENTS, name)
            self._pending[key] = self._pending.get(key, 0) + amount

    def incr(self, client_id: str, name: str, amount: int = 1) -> None:
        self._incr_all([((client_id, name), amount)])

    def incr_pair(self, client_id: str, first: str, second: str) -> None:
        self._incr_all([((client_id, first), 1), ((client_id, second), 1)])

    def _incr_all(self, counts: list[tuple[tuple[str, str], int]]) -> None:
        """Send ``counts`` (and any kept from an outage) in one round trip."""
        if self.breaker.is_open():
            # Redis is known to be down: nothing is sent, so the counts wait here.
            self._keep_all(counts)
            self.breaker.call(lambda: None)  # raises StoreUnavailable
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        sending = [*pending.items(), *counts]
        pipe = self._client.pipeline(transaction=False)
        for (sent_id, sent_name), sent in sending:
            self._add(pipe, sent_id, sent_name, sent)
        self._call(lambda: self._send(pipe, sending))

    def _send(
        self, pipe: redis.client.Pipeline, sending: list[tuple[tuple[str, str], int]]
    ) -> None:
        """Run ``pipe``; counts Redis surely did not apply wait here for the next try.

        Refused, cut off or unauthenticated (``ConnectionError``), or refused by
        Redis itself (OOM, READONLY): kept, so an outage loses nothing. A
        timeout is not kept: a frozen Redis may still apply them (at most once).
        """
        import redis

        try:
            results = pipe.execute(raise_on_error=False)
        except redis.ConnectionError:
            self._keep_all(sending)
            raise
        failed = [
            (entry, result)
            for entry, result in zip(sending, results, strict=True)
            if isinstance(result, Exception)
        ]
        if failed:
            self._keep_all(entry for entry, _ in failed)
            raise failed[0][1]

    def _keep_all(self, entries: Iterable[tuple[tuple[str, str], int]]) -> None:
        for (client_id, name), amount in entries:
            self._keep(client_id, name, amount)

    def _add(self, pipe: redis.client.Pipeline, client_id: str, name: str, amount: int) -> None:
        keys = [self._clients_key, self._client_key(client_id), self._other_key]
        if client_id == OTHER_CLIENTS:  # counted together: never a tracked place of its own
            keys[1] = self._other_key
        args: list[str | int] = [client_id, name, amount, self.max_tracked_clients, self._ttl_ms]
        args += sorted(SHARED_ROWS)
        self._incr_script(keys=keys, args=args, client=pipe)

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self._call(self._snapshot)

    def _snapshot(self) -> dict[str, dict[str, int]]:
        clients = sorted(str(c) for c in self._client.smembers(self._clients_key))
        pipe = self._client.pipeline(transaction=False)
        for client_id in clients:
            pipe.hgetall(self._client_key(client_id))
        pipe.hgetall(self._other_key)
        *rows, other = pipe.execute()
        gone = [c for c, row in zip(clients, rows, strict=True) if not row]
        if gone:  # expired while idle: give their places to new ids
            self._client.srem(self._clients_key, *gone)
        out = {
            client_id: {str(name): int(value) for name, value in row.items()}
            for client_id, row in zip(clients, rows, strict=True)
            if row
        }
        if other:
            out[OTHER_CLIENTS] = {str(name): int(value) for name, value in other.items()}
        return out

    def reset(self) -> None:
        self._call(self._reset)
        with self._pending_lock:  # only once Redis is cleared: a failed reset keeps them
            self._pending = {}

    def _reset(self) -> None:
        from quotalab.limits.redis_store import glob_escape

        names = list(self._client.scan_iter(match=glob_escape(self.namespace) + "*", count=1000))
        for i in range(0, len(names), 500):
            self._client.unlink(*names[i : i + 500])


def open_counters(
    url: str = "memory://", *, max_tracked_clients: int = DEFAULT_MAX_TRACKED_CLIENTS
) -> Counters:
    """Counters for a store URL: ``memory://`` in-process, ``redis://...`` shared."""
    if url in ("memory://", "memory"):
        return MemoryCounters(max_tracked_clients=max_tracked_clients)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCounters.from_url(url, max_tracked_clients=max_tracked_clients)
    raise InputError(
        f"unsupported counters URL {url!r}: expected memory:// or redis://host:port/db"
    )
