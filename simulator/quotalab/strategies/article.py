"""``ArticleStrategy``: the seed article's ``Auth0Client``, reproduced faithfully.

It caches with a 60 s margin, computes expiry as ``now + expires_in`` after
the fetch returns, retries 429 and 503 on the token request up to 5 attempts
(sleeping ``max(0, int(reset) - int(now)) + 1`` when a 429 carries
``x-ratelimit-reset``, else ``2 ** attempt``), raises on any other error
status, and takes no lock: concurrent callers at expiry all fetch. API calls
are sent once with the token, not retried.
"""

from __future__ import annotations

from collections.abc import Generator

from quotalab.clock import Clock
from quotalab.errors import InputError, UnavailableError
from quotalab.strategies.answers import error_for
from quotalab.strategies.client_settings import ClientSettings, token_request, with_bearer
from quotalab.strategies.messages import Action, Flow, Reply, Send, Sleep
from quotalab.wire import HttpRequest, HttpResponse, TransportError


class ArticleStrategy:
    """The seed article's client: token caching and backoff without single-flight."""

    __slots__ = (
        "_request",
        "clock",
        "expires_at",
        "fetches",
        "margin_s",
        "max_retries",
        "name",
        "token",
    )

    def __init__(self, settings: ClientSettings, *, clock: Clock) -> None:
        if settings.style != "auth0":
            raise InputError(
                "the 'article' strategy is the article's Auth0 client; use style auth0"
            )
        self.name = "article"
        self.clock = clock
        self.margin_s = 60.0
        self.max_retries = 5
        self.token: str | None = None
        self.expires_at = 0.0
        self.fetches = 0
        self._request = token_request(settings)

    def call(self, request: HttpRequest) -> Flow:
        """``get_token()`` then one API request with the bearer token."""
        token = yield from self._get_token()
        response = yield Send(with_bearer(request, token), "api")
        if isinstance(response, TransportError) or response is None:
            raise error_for(response or TransportError("no reply"), "API call")
        return response

    def _get_token(self) -> Generator[Action, Reply, str]:
        # `if self._token and time.time() < self._token_expires_at - 60`
        if self.token and self.clock.now() < self.expires_at - self.margin_s:
            return self.token
        response = yield from self._request_with_backoff()
        data = response.json()
        if not isinstance(data, dict) or "access_token" not in data or "expires_in" not in data:
            # The article indexes data["access_token"] and data["expires_in"] blindly.
            raise UnavailableError("token response lacks access_token or expires_in")
        self.token = str(data["access_token"])
        self.expires_at = self.clock.now() + float(data["expires_in"])
        self.fetches += 1
        return self.token

    def _request_with_backoff(self) -> Generator[Action, Reply, HttpResponse]:
        for attempt in range(self.max_retries):
            reply = yield Send(self._request, "token")
            if isinstance(reply, TransportError) or reply is None:
                # requests raises ConnectionError; the article does not catch it.
                raise error_for(reply or TransportError("no reply"), "token request")
            if reply.status not in (429, 503):
                if reply.status >= 400:  # response.raise_for_status()
                    raise error_for(reply, "token request", attempt + 1)
                return reply
            if attempt == self.max_retries - 1:
                raise error_for(reply, "token request", attempt + 1)  # max retries reached
            reset = reply.headers.get("x-ratelimit-reset")
            if reset and reply.status == 429:
                sleep_s = float(max(0, int(float(reset)) - int(self.clock.now())) + 1)
            else:
                sleep_s = float(2**attempt)
            yield Sleep(sleep_s)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
