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
from quotalab.strategies.answers import AnswerKind, classify
from quotalab.strategies.backoff import RetryPolicy
from quotalab.strategies.client_settings import (
    ClientSettings,
    parse_token,
    token_request,
    with_bearer,
)
from quotalab.strategies.messages import Action, AwaitRefresh, Flow, Reply, Send, Sleep
from quotalab.strategies.retry_step import retry_step
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

    def call(
        self,
        request: HttpRequest,
        *,
        waited_s: float = 0.0,
        token_sends: int = 0,
        access_token: str | None = None,
    ) -> Flow:
        """Call the API with a bearer token, fetching and retrying per the policies.

        The keywords start a call already under way (a driver that played its
        beginning itself hands the rest over): it has waited ``waited_s`` of
        its retry budget and either sent ``token_sends`` token requests that
        were answered with throttles (the flow's first action is send number
        ``token_sends + 1``) or holds ``access_token`` (its first action is the
        API request). Only for a token policy without a cache.
        """
        if (token_sends or access_token is not None) and self.token.cache:
            raise ValueError("a call under way is handed over only without a token cache")
        state = _CallState(waited_s)
        refetched = False
        while True:
            if access_token is None:
                access_token = yield from self._access_token(state, token_sends)
                token_sends = 0
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
                access_token = None
                continue
            return response

    def _send(self, send: Send, state: _CallState, sent: int = 0) -> Step:
        """Send ``send``, retrying throttles and outages; return the first definite answer.

        ``sent``: sends of this request already made (by a driver that played them).
        """
        api = send.purpose == "api"
        attempt = sent
        while True:
            attempt += 1
            reply = yield send
            if reply is None:
                raise TypeError("a driver must answer Send with an HttpResponse or TransportError")
            if isinstance(reply, HttpResponse) and 200 <= reply.status < 300:
                return reply  # the common case, kept cheap: no classification needed
            step = retry_step(
                reply,
                self.clock.now(),
                api=api,
                attempt=attempt,
                waited_s=state.waited_s,
                policy=self.retry,
                draw=self.rng.random,
            )
            if isinstance(step, HttpResponse):
                return step
            state.waited_s += step
            yield Sleep(step)

    def _fetch(self, state: _CallState, sent: int = 0) -> Generator[Action, Reply, str]:
        response = yield from self._send(self._token_send, state, sent)
        token = parse_token(response, self.clock.now())
        if self.token.cache:
            self.cache.store(token)
        return token.access_token

    def _access_token(self, state: _CallState, sent: int = 0) -> Generator[Action, Reply, str]:
        """A usable access token: cached, fetched by us, or fetched by a peer we waited for.

        ``sent``: token requests of this call already sent (no cache only).
        """
        policy = self.token
        if not policy.cache:
            return (yield from self._fetch(state, sent))
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
