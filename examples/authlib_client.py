"""Measure a client built on authlib's ``OAuth2Session``, naive and cached.

authlib fetches client-credentials tokens with ``fetch_token`` and raises
``OAuthError`` when the token endpoint answers with an error body (Auth0's
429 says ``"error": "Too Many Requests"``). quotalab counts such a call as
failed and, from that error code, throttled::

    quotalab run --strategies naive,examples.authlib_client:naive,examples.authlib_client:cached

(from the folder that holds ``examples/``; ``pip install authlib requests``).
"""

from __future__ import annotations

import random

from authlib.integrations.requests_client import OAuth2Session

from quotalab import ClientSettings, Clock

EXPIRY_MARGIN_S = 60
"""Refresh this long before the token expires (a cached client's only policy)."""


class AuthlibClient:
    """``call_api(path) -> status`` through an ``OAuth2Session`` (client_secret_post)."""

    def __init__(self, settings: ClientSettings, *, cache: bool) -> None:
        self.name = "authlib-cached" if cache else "authlib-naive"
        self.cache = cache
        self.token_url = settings.token_url
        self.audience = settings.audience
        self.api_base_url = settings.api_base_url.rstrip("/")
        self.session = OAuth2Session(
            settings.client_id,
            settings.client_secret,
            token_endpoint_auth_method="client_secret_post",
        )

    def ensure_token(self) -> None:
        token = self.session.token
        if self.cache and token and not token.is_expired(leeway=EXPIRY_MARGIN_S):
            return
        extra = {"audience": self.audience} if self.audience else {}
        self.session.fetch_token(self.token_url, grant_type="client_credentials", **extra)

    def call_api(self, path: str) -> int:
        self.ensure_token()
        return int(self.session.get(self.api_base_url + path, timeout=10).status_code)


def naive(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> AuthlibClient:
    """A fresh token for every call."""
    return AuthlibClient(settings, cache=False)


def cached(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> AuthlibClient:
    """One token, kept until a minute before it expires."""
    return AuthlibClient(settings, cache=True)
