"""Measure a client built on the Auth0 SDK (``auth0-python``), naive and cached.

This is the token code teams ship: ``GetToken.client_credentials`` from the
official SDK, which *raises* ``RateLimitError`` when the token endpoint
answers 429. quotalab counts such a call as failed and throttled, so the
report shows what the SDK costs you::

    quotalab run --strategies naive,examples.auth0_sdk_client:naive,examples.auth0_sdk_client:cached

(from the folder that holds ``examples/``; ``pip install auth0-python requests``).
"""

from __future__ import annotations

import random
import time
from urllib.parse import urlsplit

import requests
from auth0.authentication import GetToken

from quotalab import ClientSettings, Clock

EXPIRY_MARGIN_S = 60.0
"""Refresh this long before the token expires (a cached client's only policy)."""


class Auth0SdkClient:
    """``call_api(path) -> status``: a bearer call with a token from the Auth0 SDK.

    SDK exceptions (``RateLimitError`` on 429, ``Auth0Error``) are left to
    escape, as in production code: quotalab counts them as failed calls.
    """

    def __init__(self, settings: ClientSettings, *, cache: bool) -> None:
        token_url = urlsplit(settings.token_url)
        self.name = "auth0-sdk-cached" if cache else "auth0-sdk-naive"
        self.cache = cache
        self.audience = settings.audience
        self.api_base_url = settings.api_base_url.rstrip("/")
        # The SDK builds https://<domain>/oauth/token; the mock server speaks plain HTTP.
        self.tokens = GetToken(
            token_url.netloc,
            settings.client_id,
            client_secret=settings.client_secret,
            protocol=token_url.scheme,
        )
        self.http = requests.Session()
        self._token = ""
        self._expires_at = 0.0

    def access_token(self) -> str:
        if self.cache and self._token and time.time() < self._expires_at - EXPIRY_MARGIN_S:
            return self._token
        answer = self.tokens.client_credentials(self.audience)
        self._token = str(answer["access_token"])
        self._expires_at = time.time() + float(answer.get("expires_in", 86400))
        return self._token

    def call_api(self, path: str) -> int:
        headers = {"authorization": f"Bearer {self.access_token()}"}
        return self.http.get(self.api_base_url + path, headers=headers, timeout=10).status_code


def naive(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Auth0SdkClient:
    """A fresh token from the SDK for every call."""
    return Auth0SdkClient(settings, cache=False)


def cached(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Auth0SdkClient:
    """One token, kept until a minute before it expires."""
    return Auth0SdkClient(settings, cache=True)
