"""Proving that calls are *quiet*, so the engine may count them instead of running them.

A call is quiet when running it would change nothing but counts and the
limits it passes: the strategy serves it from a cached token with one API
request and the provider answers 2xx. The oracle checks, for ``MockProvider``
only and one worker per client (anything else runs event by event):

- strategy: a ``ClientStrategy`` with a cached token (``TokenCache.valid``)
  and no refresh under way, the stretch ending where the cache stops
  answering (found by bisection on ``valid`` itself, so the strategy's own
  margin rule decides); or the seed article's ``ArticleStrategy`` holding a
  token, whose own rule ``now < expires_at - margin_s`` ends the stretch
  exactly; either reading the engine's clock;
- provider: the worker's previous call was a real quiet call (same token,
  answered 2xx by the real server), the server still accepts the token, no
  fault can fire on the API endpoint, and each limit rule of that endpoint
  is a continuous token bucket keyed by client;
- limits: a ``TokenBucketGate`` (``quotalab.sim.bucket_gate``) decides each
  call from the buckets' stored state with their own arithmetic; the stretch
  ends before a call they would refuse.

``absorb`` then adds the provider's counters and replays, through the real
store at the stretch's end, the calls the gate says leave its exact state.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from quotalab.limits import MemoryStore, TokenBucket
from quotalab.server.mock_provider import MockProvider
from quotalab.server.parsing import read_request
from quotalab.sim.bucket_gate import BucketStart, TokenBucketGate
from quotalab.sim.engine_types import Worker
from quotalab.sim.token_handles import HANDLE_PREFIX, HandleKeys
from quotalab.strategies.article import ArticleStrategy
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.client_settings import with_bearer
from quotalab.strategies.messages import Strategy
from quotalab.strategies.token_cache import TokenCache
from quotalab.wire import HttpRequest

Schedule = Callable[[float, Callable[[], None]], None]


@dataclass(frozen=True, slots=True)
class _Route:
    endpoint_name: str
    buckets: tuple[tuple[str, TokenBucket, str], ...]  # (rule name, bucket, store key)


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


def _bisectable_cache(strategy: ClientStrategy) -> bool:
    """Whether ``strategy`` caches in the built-in ``TokenCache``, whose ``valid`` is a plain
    function of time (bisected for its horizon): a cache of your own may count uses or
    keep hours, so its calls are played."""
    return strategy.token.cache and type(strategy.cache) is TokenCache


class ProviderOracle:
    """The quiet-call oracle for real strategies against a ``MockProvider``."""

    def __init__(self, provider: MockProvider, workers_per_client: int, schedule: Schedule) -> None:
        self.provider = provider
        self.single_worker = workers_per_client == 1
        self.schedule = schedule
        self._routes: dict[tuple[str, str], _Route | None] = {}
        self._gates: dict[int, TokenBucketGate] = {}
        # A TokenCache's horizon for a token, by id(cache): ((token, cache.fetches), horizon).
        self._horizons: dict[int, tuple[tuple[str, int], float]] = {}
        self.last_quiet: dict[int, str] = {}  # worker: authorization of its last quiet call

    # -- what the engine reports back ------------------------------------

    def observe(self, worker: Worker, request: HttpRequest | None, status: int, t: float) -> None:
        """Remember the token of a real call that was one API request answered 2xx."""
        if request is not None and 200 <= status < 300:
            self.last_quiet[id(worker)] = dict(request.headers).get("authorization", "")
        else:
            self.last_quiet.pop(id(worker), None)

    # -- QuietOracle -----------------------------------------------------

    def can_prove(self, strategy: Strategy) -> bool:
        """Whether any call of ``strategy`` could ever be quiet (else: no need to ask)."""
        if not self.single_worker:
            return False
        if type(strategy) is ClientStrategy:
            return _bisectable_cache(strategy)
        return type(strategy) is ArticleStrategy

    def quiet_until(self, worker: Worker, now: float) -> float:
        if not self.single_worker:
            return now
        strategy = worker.group.strategy
        token = self._cached_token(strategy, now)
        if token is None or self.last_quiet.get(id(worker)) != f"Bearer {token}":
            return now
        route = self._route(worker)
        if route is None or not self._fault_free(route) or not self._admits(route, now):
            return now
        return min(self._cache_horizon(strategy, token, now), accepted_until(self.provider, token))

    def gate(self, worker: Worker) -> TokenBucketGate:
        """The worker's API buckets as the store holds them now."""
        route = self._route(worker)
        assert route is not None
        provider = self.provider
        store = provider.limiter.store
        starts = []
        for _, bucket, key in route.buckets:
            assert isinstance(store, MemoryStore)  # see _build_route
            held = store.entry(bucket, key)
            starts.append(
                BucketStart(bucket, None, -math.inf) if held is None else BucketStart(bucket, *held)
            )
        gate = TokenBucketGate(starts, provider.clock.offset_s, provider.clock.now())
        self._gates[id(worker)] = gate
        return gate

    def absorb(self, worker: Worker, calls: int, first_at: float, last_at: float) -> None:
        route = self._route(worker)
        assert route is not None
        provider, client_id = self.provider, worker.client_id
        provider.counters.incr(client_id, "api_calls", calls)
        provider.counters.incr(client_id, "api_ok", calls)
        replay = self._gates.pop(id(worker)).replay_at(last_at)
        store, offset = provider.limiter.store, provider.clock.offset_s

        def apply_call(at: float) -> Callable[[], None]:
            def apply() -> None:
                for _, bucket, key in route.buckets:
                    store.apply(bucket, key, at + offset)

            return apply

        if route.buckets:
            # Each at its own time: applied later, a key might have been swept by then.
            for at in replay:
                self.schedule(at, apply_call(at))

    # -- helpers ---------------------------------------------------------

    def _cached_token(self, strategy: Strategy, now: float) -> str | None:
        """The token ``strategy`` would serve a call at ``now`` from its cache, if any."""
        if type(strategy) is ClientStrategy:
            if strategy.clock is not self.provider.clock.base:
                return None
            if not _bisectable_cache(strategy) or strategy.cache.refreshing:
                return None
            return strategy.cache.valid(now, strategy.token.margin_s)
        if type(strategy) is ArticleStrategy:
            if strategy.clock is not self.provider.clock.base:
                return None
            # The article's own test: `self._token and time.time() < expires_at - 60`.
            if strategy.token and now < strategy.expires_at - strategy.margin_s:
                return strategy.token
        return None

    def _fault_free(self, route: _Route) -> bool:
        fault = self.provider.faults.get(route.endpoint_name)
        return not (fault.probability or fault.schedule or fault.latency_ms)

    def _admits(self, route: _Route, now: float) -> bool:
        """Whether every bucket admits a call at ``now`` (cheaper than building a gate)."""
        store, at = self.provider.limiter.store, self.provider.clock.at(now)
        return all(store.peek(bucket, key, at).remaining >= 1 for _, bucket, key in route.buckets)

    def _cache_horizon(self, strategy: Strategy, token: str, now: float) -> float:
        """The first instant at which the strategy no longer serves ``token`` from its cache."""
        if isinstance(strategy, ArticleStrategy):
            return strategy.expires_at - strategy.margin_s  # exact: its rule is `now < this`
        assert isinstance(strategy, ClientStrategy)
        cache, margin = strategy.cache, strategy.token.margin_s
        # A finite boundary does not depend on ``now``: reuse it while the token stays.
        stamp = (token, cache.fetches)
        known = self._horizons.get(id(cache))
        if known is not None and known[0] == stamp:
            return known[1]
        horizon = self._find_boundary(cache, margin, token, now)
        if horizon < math.inf:
            self._horizons[id(cache)] = (stamp, horizon)
        return horizon

    @staticmethod
    def _find_boundary(cache: TokenCache, margin: float, token: str, now: float) -> float:
        """The first instant after ``now`` at which ``cache`` stops answering with ``token``."""
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
        limiter = provider.limiter
        if limiter.enabled:
            for name in endpoint.limits:
                rule = limiter.rules[name]
                algorithm = rule.algorithm
                if rule.stage != "request":
                    continue
                if (
                    not isinstance(algorithm, TokenBucket)
                    or algorithm.refill != "continuous"
                    or "client" not in rule.key
                    or not isinstance(limiter.store, MemoryStore)  # the gate reads its entries
                ):
                    return None
                # The key ``Limiter`` builds for an API request (its request key is "").
                parts = {"tenant": limiter.tenant, "client": worker.client_id, "request": ""}
                store_key = ":".join(parts.get(part, endpoint.name) for part in rule.key)
                buckets.append((name, algorithm, f"{name}:{store_key}"))
        return _Route(endpoint.name, tuple(buckets))
