"""``ClientStrategy``: one flow that combines a token policy and a retry policy.

``naive``, ``cached``, ``backoff`` and ``cached+backoff`` are all this class
with different policies (see ``registry``). The flow never does I/O: it yields
``Send`` / ``Sleep`` / ``AwaitRefresh`` and reads time from the injected clock.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass

from quotalab.clock import Clock
from quotalab.errors import StrategyError
from quotalab.strategies.answers import RETRYABLE, AnswerKind, classify, error_for
from quotalab.strategies.backoff import RetryPolicy, plan_retry
from quotalab.strategies.client_settings import (
    ClientSettings,
    parse_token,
    token_request,
    with_bearer,
)
from quotalab.strategies.messages import Action, AwaitRefresh, Flow, Reply, Send, Sleep
from quotalab.strategies.token_cache import TokenCache, TokenPolicy
from quotalab.wire import HttpRequest, HttpResponse

Step = Generator[Action, Reply, HttpResponse]


@dataclass(slots=True)
class _CallState:
    """What one API call has spent so far: the retry budget is per call."""

    waited_s: float = 0.0


class ClientStrategy:
    """A client-credentials client: token policy + retry policy, sans-I/O."""

    __slots__ = (
        "_token_request",
        "_token_send",
        "cache",
        "clock",
        "name",
        "retry",
        "rng",
        "settings",
        "token",
    )

    def __init__(
        self,
        name: str,
        settings: ClientSettings,
        *,
        token: TokenPolicy,
        retry: RetryPolicy,
        clock: Clock,
        rng: random.Random,
        cache: TokenCache | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.token = token
        self.retry = retry
        self.clock = clock
        self.rng = rng
        self.cache = cache if cache is not None else TokenCache()
        self._token_request = token_request(settings)
        self._token_send = Send(self._token_request, "token")  # the same every time

    @property
    def token_request(self) -> HttpRequest:
        """The token request every fetch sends: one object, the same every time."""
        return self._token_request

    def call(self, request: HttpRequest) -> Flow:
        """Call the API with a bearer token, fetching and retrying per the policies."""
        state = _CallState()
        refetched = False
        while True:
            access_token = yield from self._access_token(state)
            response = yield from self._send(Send(with_bearer(request, access_token), "api"), state)
            if (
                response.status == 401
                and not refetched
                and self.token.refetch_on_invalid
                and classify(response, self.clock.now(), api=True).outcome
                is AnswerKind.INVALID_TOKEN
            ):
                # The API rejected the token itself: drop it and try once more.
                refetched = True
                self.cache.invalidate(access_token)
                continue
            return response

    def _send(self, send: Send, state: _CallState) -> Step:
        """Send ``send``, retrying throttles and outages; return the first definite answer."""
        api = send.purpose == "api"
        attempt = 0
        while True:
            attempt += 1
            reply = yield send
            if reply is None:
                raise TypeError("a driver must answer Send with an HttpResponse or TransportError")
            if isinstance(reply, HttpResponse) and 200 <= reply.status < 300:
                return reply  # the common case, kept cheap: no classification needed
            verdict = classify(reply, self.clock.now(), api=api)
            if verdict.outcome not in RETRYABLE and isinstance(reply, HttpResponse):
                if not api and verdict.outcome is not AnswerKind.OK:
                    raise error_for(reply, "token request")
                return reply
            hint = (
                self.retry.cooldown_s if verdict.outcome is AnswerKind.COOLDOWN else verdict.wait_s
            )
            delay = None
            if attempt < self.retry.max_attempts:  # no jitter is drawn for a retry never made
                delay = plan_retry(self.retry, attempt, state.waited_s, hint, self.rng.random())
            if delay is None:
                raise error_for(reply, "token request" if not api else "API call")
            state.waited_s += delay
            yield Sleep(delay)

    def _fetch(self, state: _CallState) -> Generator[Action, Reply, str]:
        response = yield from self._send(self._token_send, state)
        token = parse_token(response, self.clock.now())
        if self.token.cache:
            self.cache.store(token)
        return token.access_token

    def _access_token(self, state: _CallState) -> Generator[Action, Reply, str]:
        """A usable access token: cached, fetched by us, or fetched by a peer we waited for."""
        policy = self.token
        if not policy.cache:
            return (yield from self._fetch(state))
        cache = self.cache
        while True:
            cached = cache.valid(self.clock.now(), policy.margin_s)
            if cached is not None:
                return cached
            if not policy.single_flight:
                return (yield from self._fetch(state))
            if cache.begin_refresh():
                failure: StrategyError | None = None
                try:
                    return (yield from self._fetch(state))
                except StrategyError as error:
                    failure = error
                    raise
                finally:
                    cache.end_refresh(failure)
            generation = cache.generation
            yield AwaitRefresh(cache)
            if (
                cache.generation != generation
                and cache.failure is not None
                and cache.valid(self.clock.now(), policy.margin_s) is None
            ):
                # The peer's refresh gave up: share its verdict rather than stampede.
                raise type(cache.failure)(str(cache.failure), cache.failure.status)
