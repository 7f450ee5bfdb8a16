"""A small provider and strategies for engine tests, built on the real limits core.

They stand in where a test needs a provider or strategy whose behaviour it
controls exactly; the integration tests use the real profiles and strategies.
"""

from __future__ import annotations

import json
import random

from quotalab.clock import Clock
from quotalab.errors import ThrottledError
from quotalab.limits import MemoryStore, TokenBucket
from quotalab.strategies.backoff import NO_RETRY, RetryPolicy
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.client_settings import ClientSettings
from quotalab.strategies.messages import AwaitRefresh, Flow, Send, Sleep, Strategy
from quotalab.strategies.registry import NO_CACHE
from quotalab.wire import HttpRequest, HttpResponse

TOKEN_URL = "https://toy.test/oauth/token"
API_URL = "https://toy.test/api"


class ToyProvider:
    """Issues tokens living ``ttl_s`` under a token bucket; the API checks expiry."""

    def __init__(self, clock: Clock, ttl_s: float = 3600.0, burst: int = 5, rate: float = 1.0):
        self.clock = clock
        self.ttl_s = ttl_s
        self.bucket = TokenBucket(burst=burst, refill_rate=rate)
        self.store = MemoryStore()
        self.issued: dict[str, float] = {}
        self.storm_until = 0.0

    def handle(self, request: HttpRequest) -> HttpResponse:
        now = self.clock.now()
        if request.url == TOKEN_URL:
            if now < self.storm_until or not self.store.apply(self.bucket, "token", now).allowed:
                return HttpResponse(429, {}, b'{"error":"too_many_requests"}')
            token = f"t{len(self.issued)}"
            self.issued[token] = now + self.ttl_s
            body = {"access_token": token, "expires_in": self.ttl_s}
            return HttpResponse(200, {}, json.dumps(body).encode())
        token = dict(request.headers).get("authorization", "").removeprefix("Bearer ")
        if self.issued.get(token, 0.0) <= now:
            return HttpResponse(401, {}, b"{}")
        return HttpResponse(200, {}, b"{}")


class ToyCache:
    def __init__(self) -> None:
        self.token = ""
        self.expires_at = 0.0
        self.refreshing = False


class ToyCachedBackoff:
    """Caches the token (``margin_s`` early refresh), one refresh at a time, retries 429."""

    name = "cached+backoff"

    def __init__(self, clock: Clock, margin_s: float = 60.0, retries: int = 5) -> None:
        self.clock = clock
        self.margin_s = margin_s
        self.retries = retries
        self.cache = ToyCache()

    def _token(self) -> Flow:
        cache = self.cache
        for attempt in range(self.retries + 1):
            while cache.refreshing:
                yield AwaitRefresh(cache)
            if self.clock.now() < cache.expires_at - self.margin_s:
                return HttpResponse(200)
            cache.refreshing = True
            reply = yield Send(HttpRequest("POST", TOKEN_URL), "token")
            cache.refreshing = False
            if isinstance(reply, HttpResponse) and reply.status == 200:
                body = reply.json()
                cache.token = body["access_token"]
                cache.expires_at = self.clock.now() + body["expires_in"]
                return reply
            yield Sleep(2.0**attempt)
        raise ThrottledError("token endpoint kept throttling", 429)

    def call(self, request: HttpRequest) -> Flow:
        yield from self._token()
        auth = (("authorization", f"Bearer {self.cache.token}"),)
        reply = yield Send(HttpRequest(request.method, request.url, auth), "api")
        assert isinstance(reply, HttpResponse)
        return reply


class ToyNaive:
    """Fetches a token for every call and never retries."""

    name = "naive"

    def call(self, request: HttpRequest) -> Flow:
        reply = yield Send(HttpRequest("POST", TOKEN_URL), "token")
        assert isinstance(reply, HttpResponse)
        if reply.status != 200:
            return reply
        auth = (("authorization", f"Bearer {reply.json()['access_token']}"),)
        api = yield Send(HttpRequest(request.method, request.url, auth), "api")
        assert isinstance(api, HttpResponse)
        return api


class _Ahead:
    """A client's own clock, ``offset_s`` ahead of the simulation's."""

    def __init__(self, base: Clock, offset_s: float) -> None:
        self.base = base
        self.offset_s = offset_s

    def now(self) -> float:
        return self.base.now() + self.offset_s


def skewed_backoff(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Strategy:
    """The built-in backoff client on a clock 0.7 s ahead of the simulation's."""
    return ClientStrategy(
        "skewed backoff",
        settings,
        token=NO_CACHE,
        retry=RetryPolicy(max_attempts=5),
        clock=_Ahead(clock, 0.7),
        rng=rng,
    )


def skewed_naive(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Strategy:
    """The built-in naive client on a clock 0.7 s ahead of the simulation's."""
    return ClientStrategy(
        "skewed naive", settings, token=NO_CACHE, retry=NO_RETRY, clock=_Ahead(clock, 0.7), rng=rng
    )
