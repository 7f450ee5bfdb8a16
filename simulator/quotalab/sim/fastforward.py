"""Proving that calls are *quiet*, so the engine may count them instead of running them.

A call is quiet when running it would change nothing but counts: the
strategy serves it from a cached token with one API request, the provider
answers 2xx, and every limit it passes ends up where one call at the end of
the stretch would leave it. The oracle checks, for ``ClientStrategy`` and
``MockProvider`` only (anything else runs event by event):

- strategy: token cached (``TokenCache.valid``) with no refresh under way;
  the stretch ends where the cache stops answering (found by bisection on
  ``valid`` itself, so the strategy's own margin rule decides);
- provider: the worker's previous call was a real quiet call (same token,
  answered 2xx by the real server), no fault can fire on the API endpoint,
  and each limit rule of that endpoint is a continuous token bucket keyed
  by client that refills at least one token between two calls of this
  client, which has a single worker. Such a bucket is full before every
  call, so applying the last call of the stretch for real leaves exactly the
  state event-by-event play leaves.

``absorb`` then adds the provider's counters and applies that last call to
each limit through the real store, at its own time.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from quotalab.limits import TokenBucket
from quotalab.server.mock_provider import MockProvider
from quotalab.server.parsing import read_request
from quotalab.sim.engine_types import Worker
from quotalab.sim.token_handles import HANDLE_PREFIX, HandleKeys
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.client_settings import with_bearer
from quotalab.strategies.messages import Strategy
from quotalab.wire import HttpRequest

Schedule = Callable[[float, Callable[[], None]], None]


@dataclass(frozen=True, slots=True)
class _Route:
    endpoint_name: str
    buckets: tuple[tuple[str, TokenBucket, str], ...]  # (rule name, bucket, store key)
    min_gap_s: float


def accepted_until(provider: MockProvider, token: str) -> float:
    """Before this engine instant ``provider`` still accepts ``token`` (conservatively)."""
    if token in provider.token_apps:
        return math.inf  # an app-only bearer token lives until invalidated
    if token.startswith(HANDLE_PREFIX) and isinstance(provider.keys, HandleKeys):
        exp = provider.keys.expires_at(token)
        if exp is None:
            return -math.inf
        return exp + provider.settings.validation_leeway_s - provider.clock.offset_s
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return -math.inf
    return exp + provider.settings.validation_leeway_s - provider.clock.offset_s


class ProviderOracle:
    """The quiet-call oracle for real strategies against a ``MockProvider``."""

    def __init__(self, provider: MockProvider, workers_per_client: int, schedule: Schedule) -> None:
        self.provider = provider
        self.single_worker = workers_per_client == 1
        self.schedule = schedule
        self._routes: dict[tuple[str, str], _Route | None] = {}
        self.last_quiet: dict[int, tuple[str, float]] = {}

    # -- what the engine reports back ------------------------------------

    def observe(self, worker: Worker, request: HttpRequest | None, status: int, t: float) -> None:
        """Remember the token of a real call that was one API request answered 2xx."""
        if request is not None and 200 <= status < 300:
            auth = dict(request.headers).get("authorization", "")
            self.last_quiet[id(worker)] = (auth, t)
        else:
            self.last_quiet.pop(id(worker), None)

    # -- QuietOracle -----------------------------------------------------

    def can_prove(self, strategy: Strategy) -> bool:
        """Whether any call of ``strategy`` could ever be quiet (else: no need to ask)."""
        return self.single_worker and type(strategy) is ClientStrategy and strategy.token.cache

    def quiet_until(self, worker: Worker, now: float) -> float:
        strategy = worker.group.strategy
        if not self.single_worker or type(strategy) is not ClientStrategy:
            return now
        policy = strategy.token
        cache = strategy.cache
        if not policy.cache or cache.refreshing:
            return now
        token = cache.valid(now, policy.margin_s)
        last = self.last_quiet.get(id(worker))
        if token is None or last is None or last[0] != f"Bearer {token}":
            return now
        route = self._route(worker)
        if route is None or not self._fault_free(route) or not self._buckets_full(route, now):
            return now
        horizon = min(
            self._cache_horizon(strategy, token, now), accepted_until(self.provider, token)
        )
        return horizon

    def min_gap_s(self, worker: Worker) -> float:
        """Shortest gap between two calls that keeps every bucket full."""
        route = self._route(worker)
        return math.inf if route is None else route.min_gap_s

    def last_call_at(self, worker: Worker) -> float:
        last = self.last_quiet.get(id(worker))
        return -math.inf if last is None else last[1]

    def absorb(self, worker: Worker, calls: int, first_at: float, last_at: float) -> None:
        route = self._route(worker)
        assert route is not None
        provider, client_id = self.provider, worker.client_id
        provider.counters.incr(client_id, "api_calls", calls)
        provider.counters.incr(client_id, "api_ok", calls)
        auth = self.last_quiet[id(worker)][0]
        self.last_quiet[id(worker)] = (auth, last_at)
        store = provider.limiter.store

        def apply_last() -> None:
            for _, bucket, key in route.buckets:
                store.apply(bucket, key, last_at)

        if route.buckets and provider.limiter.enabled:
            self.schedule(last_at, apply_last)

    # -- helpers ---------------------------------------------------------

    def _fault_free(self, route: _Route) -> bool:
        fault = self.provider.faults.get(route.endpoint_name)
        return not (fault.probability or fault.schedule or fault.latency_ms)

    def _buckets_full(self, route: _Route, now: float) -> bool:
        store = self.provider.limiter.store
        return all(
            store.peek(bucket, key, now).remaining >= bucket.burst
            for _, bucket, key in route.buckets
        )

    def _cache_horizon(self, strategy: ClientStrategy, token: str, now: float) -> float:
        """The first instant at which the cache no longer answers with ``token``."""
        cache, margin = strategy.cache, strategy.token.margin_s
        hi = now + 1.0
        while cache.valid(hi, margin) == token:
            if hi - now > 1e9:
                return math.inf
            hi = now + 2 * (hi - now)
        lo = now  # valid at lo, not at hi: valid(t) is "t < boundary"
        while True:
            mid = lo + (hi - lo) / 2
            if mid <= lo or mid >= hi:
                return hi
            if cache.valid(mid, margin) == token:
                lo = mid
            else:
                hi = mid

    def _route(self, worker: Worker) -> _Route | None:
        key = (worker.client_id, worker.request.url)
        if key not in self._routes:
            self._routes[key] = self._build_route(worker)
        return self._routes[key]

    def _build_route(self, worker: Worker) -> _Route | None:
        provider = self.provider
        incoming = read_request(with_bearer(worker.request, "x"))
        endpoint = provider.routes.get((incoming.method, incoming.path))
        if endpoint is None or endpoint.kind not in ("jwt_api", "bearer_api"):
            return None
        buckets: list[tuple[str, TokenBucket, str]] = []
        min_gap = 0.0
        if provider.limiter.enabled:
            for name in endpoint.limits:
                rule = provider.limiter.rules[name]
                algorithm = rule.algorithm
                if rule.stage != "request":
                    continue
                if (
                    not isinstance(algorithm, TokenBucket)
                    or algorithm.refill != "continuous"
                    or "client" not in rule.key
                ):
                    return None
                parts = {"tenant": provider.limiter.tenant, "client": worker.client_id}
                store_key = ":".join(parts.get(part, endpoint.name) for part in rule.key)
                buckets.append((name, algorithm, f"{name}:{store_key}"))
                min_gap = max(min_gap, 1.0 / algorithm.refill_rate)
        return _Route(endpoint.name, tuple(buckets), min_gap)
