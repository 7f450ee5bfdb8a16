"""The Redis store: limiter state shared by every server worker.

Same contract as ``MemoryStore``; each decision is one Lua script run
atomically inside Redis (EVALSHA through redis-py's ``register_script``),
so concurrent workers never over-admit. Keys live under a namespace prefix
and expire with ``PEXPIRE`` after the algorithm's idle TTL (plus a grace,
because Redis expires by its own clock while callers may pass a virtual or
skewed ``now``).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from quotalab.errors import InputError, StoreUnavailable
from quotalab.limits import redis_scripts
from quotalab.limits.algorithms import (
    TIME_SLACK_S,
    TOKEN_EPSILON,
    Algorithm,
    CounterQuota,
    FixedWindow,
    TokenBucket,
)
from quotalab.limits.decision import Decision, State

DEFAULT_NAMESPACE = "quotalab:limit:"
SOCKET_TIMEOUT_S = 0.5
"""A Redis silent this long is treated as lost: a server must answer within a second."""
CONNECT_TIMEOUT_S = 0.5
OUTAGE_COOLDOWN_S = 1.0
"""After Redis fails, calls fail at once for this long instead of each waiting on it."""

_T = TypeVar("_T")
_log = logging.getLogger("quotalab.store")


_CREDENTIAL_PARAM = re.compile(r"(?i)([?&;](?:password|username)=)[^&;]*")


def redacted(url: str) -> str:
    """``url`` with every credential masked, fit for a message; never raises.

    Plain text, not a URL parser: a password with an unencoded ``/``, ``#``
    or ``@`` (which makes the URL unparseable or splits it wrongly) is still
    hidden, as are ``password=`` and ``username=`` query parameters.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" in rest:  # everything up to the last "@" is user information
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + _CREDENTIAL_PARAM.sub(r"\1***", rest)


def _reason(error: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused"), else redis-py's text."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(error).rstrip(".")


def connect(url: str, what: str = "Redis") -> redis.Redis:
    """A client for ``url`` that has answered PING, or ``StoreUnavailable`` in one line.

    Short timeouts and one immediate retry on a broken connection (a restarted
    Redis), none on a timeout: redis-py's default of three retries with backoff
    kept a caller waiting ~11 s on a frozen Redis.
    """
    try:
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )
    except ValueError:
        # The parser's words may quote part of a password: name the shape instead.
        raise InputError(
            f"bad {what} URL {redacted(url)!r}: expected redis://[[USER]:PASSWORD@]HOST:PORT/DB "
            "with a port from 1 to 65535 and '/', '#', '@' percent-encoded in a password"
        ) from None
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        client.close()
        raise StoreUnavailable(
            f"cannot reach {what} at {redacted(url)}: {_reason(error)}"
        ) from None
    return client


class OutageBreaker:
    """Runs Redis calls; after one fails, the next ones fail at once for ``cooldown_s``.

    A dead or frozen Redis then costs one timeout per cooldown instead of one
    per request, and the first call after the cooldown tries Redis again, so
    service comes back by itself when Redis does. ``monotonic`` is injected so
    tests can end a cooldown without waiting.
    """

    def __init__(
        self,
        where: str,
        cooldown_s: float = OUTAGE_COOLDOWN_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where = where
        self.cooldown_s = cooldown_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._down_until = float("-inf")
        self._message = ""

    def is_open(self) -> bool:
        """Whether Redis failed less than ``cooldown_s`` ago (calls fail at once)."""
        return self._monotonic() < self._down_until

    def call(self, action: Callable[[], _T]) -> _T:
        """``action()``, or ``StoreUnavailable`` naming the outage."""
        if self._monotonic() < self._down_until:
            raise StoreUnavailable(self._message)
        try:
            return action()
        except redis.RedisError as error:
            # Lost, frozen, or answering errors (OOM, READONLY, NOAUTH): all unavailable.
            lost = isinstance(error, redis.ConnectionError | redis.TimeoutError)
            what = "lost Redis at" if lost else "error from Redis at"
            with self._lock:
                self._message = f"{what} {self.where}: {_reason(error)}"
                self._down_until = self._monotonic() + self.cooldown_s
            _log.warning("%s; store unavailable for %gs", self._message, self.cooldown_s)
            raise StoreUnavailable(self._message) from None


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis ``SCAN MATCH`` pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisStore:
    """Limiter state in Redis: atomic Lua decisions, namespaced keys, key expiry."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expiry_grace_s: float = 10.0,
        url: str = "",
        breaker: OutageBreaker | None = None,
    ) -> None:
        self._client = client
        self.namespace = namespace
        self.expiry_grace_s = expiry_grace_s
        self.breaker = breaker or OutageBreaker(redacted(url) if url else "Redis")
        self._token_bucket: Script = client.register_script(redis_scripts.TOKEN_BUCKET)
        self._fixed_window: Script = client.register_script(redis_scripts.FIXED_WINDOW)
        self._counter_quota: Script = client.register_script(redis_scripts.COUNTER_QUOTA)
        self._shift: Script = client.register_script(redis_scripts.SHIFT)

    @classmethod
    def from_url(cls, url: str, *, namespace: str = DEFAULT_NAMESPACE) -> RedisStore:
        """Connect to ``url`` (``redis://host:port/db``); fail fast if unreachable."""
        return cls(connect(url), namespace=namespace, url=url)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def _key(self, algorithm: Algorithm, key: str) -> str:
        return f"{self.namespace}{algorithm.key_prefix}:{key}"

    def _ttl_ms(self, algorithm: Algorithm) -> int:
        return math.ceil((algorithm.idle_ttl_s + self.expiry_grace_s) * 1000)

    def _call(self, action: Callable[[], _T]) -> _T:
        return self.breaker.call(action)

    def _script_args(
        self, algorithm: Algorithm, now: float, cost: int
    ) -> tuple[Script, int, list[Any]]:
        """The script deciding ``algorithm``, the limit it reports, and its ARGV."""
        ttl_ms = self._ttl_ms(algorithm)
        if isinstance(algorithm, TokenBucket):
            return (
                self._token_bucket,
                algorithm.burst,
                [
                    repr(now),
                    cost,
                    algorithm.burst,
                    repr(float(algorithm.refill_rate)),
                    1 if algorithm.refill == "interval" else 0,
                    repr(float(algorithm.interval_s)),
                    repr(algorithm.per_interval),
                    repr(algorithm.tolerance),
                    repr(TIME_SLACK_S),
                    repr(TOKEN_EPSILON),
                    ttl_ms,
                ],
            )
        if isinstance(algorithm, FixedWindow):
            return (
                self._fixed_window,
                algorithm.limit,
                [
                    repr(now),
                    cost,
                    algorithm.limit,
                    repr(float(algorithm.window_s)),
                    1 if algorithm.align == "epoch" else 0,
                    repr(TIME_SLACK_S),
                    ttl_ms,
                ],
            )
        if isinstance(algorithm, CounterQuota):
            start, end = algorithm.bounds(now)
            return (
                self._counter_quota,
                algorithm.limit,
                [
                    repr(now),
                    cost,
                    algorithm.limit,
                    repr(start),
                    repr(end),
                    ttl_ms,
                ],
            )
        raise TypeError(f"RedisStore has no script for {type(algorithm).__name__}")

    def apply(self, algorithm: Algorithm, key: str, now: float, cost: int = 1) -> Decision:
        if cost < 0:
            raise ValueError(f"cost must be >= 0, got {cost}")
        script, limit, args = self._script_args(algorithm, now, cost)
        name = self._key(algorithm, key)
        allowed, remaining, reset_at, retry_after = self._call(
            lambda: script(keys=[name], args=args)
        )
        return Decision(bool(allowed), limit, int(remaining), float(reset_at), float(retry_after))

    def peek(self, algorithm: Algorithm, key: str, now: float) -> Decision:
        name = self._key(algorithm, key)
        a, b = self._call(lambda: self._client.hmget(name, ["a", "b"]))
        state: State | None = None if a is None or b is None else (float(a), float(b))
        return algorithm.decide(state, now, 0)[1]

    def _keys(self, prefix: str = "") -> Iterator[str]:
        pattern = glob_escape(self.namespace + prefix) + "*"
        yield from self._client.scan_iter(match=pattern, count=1000)

    def shift(self, algorithms: Iterable[Algorithm], by_s: float) -> None:
        # The field ``Algorithm.shifted`` moves: the token bucket's ``updated_at`` (b),
        # the window's start (a); a calendar quota's period stays.
        fields = {}
        for algorithm in algorithms:
            if isinstance(algorithm, TokenBucket):
                fields[algorithm.key_prefix] = "b"
            elif isinstance(algorithm, FixedWindow):
                fields[algorithm.key_prefix] = "a"
            elif not isinstance(algorithm, CounterQuota):
                raise TypeError(f"RedisStore has no script for {type(algorithm).__name__}")

        def shift_all() -> None:
            for prefix, name in fields.items():
                # A set: SCAN may return a key twice, and each must move once.
                keys = set(self._keys(prefix + ":"))
                pipe = self._client.pipeline(transaction=False)
                for key in keys:
                    self._shift(keys=[key], args=[name, repr(float(by_s))], client=pipe)
                pipe.execute()

        self._call(shift_all)

    def reset(self) -> None:
        """Delete every key under this store's namespace, and nothing else."""

        def delete_all() -> None:
            batch: list[str] = []
            for name in self._keys():
                batch.append(name)
                if len(batch) >= 500:
                    self._client.unlink(*batch)
                    batch.clear()
            if batch:
                self._client.unlink(*batch)

        self._call(delete_all)

    def __len__(self) -> int:
        return self._call(lambda: sum(1 for _ in self._keys()))
