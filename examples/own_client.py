"""Bring your own client: measure the blocking client your team really runs.

``PlainClient`` stands for production code: a plain ``requests`` client that
does its own HTTP and caches its token naively.
``factory`` adapts it to quotalab's ``OwnClient`` protocol, so::

    quotalab run --strategies examples.own_client:factory ...

drives it, and the mock server counts every token request it makes.
"""

from __future__ import annotations

import random
import time

import requests

from quotalab import ClientSettings, Clock


class PlainClient:
    """A typical hand-written M2M client: cache the token, no margin, no retries."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, audience: str) -> None:
        self.token_url = token_url
        self.credentials = {"client_id": client_id, "client_secret": client_secret}
        self.audience = audience
        self.http = requests.Session()
        self._token: str | None = None
        self._expires_at = 0.0

    def get_token(self) -> str:
        if self._token and time.time() < self._expires_at:
            return self._token
        body = {**self.credentials, "audience": self.audience, "grant_type": "client_credentials"}
        response = self.http.post(self.token_url, json=body, timeout=10)
        response.raise_for_status()
        data = response.json()
        self._token = data["access_token"]
        self._expires_at = time.time() + data.get("expires_in", 86400)
        return data["access_token"]  # type: ignore[no-any-return]

    def get(self, url: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.get_token()}"}
        return self.http.get(url, headers=headers, timeout=10)


class MeasuredClient:
    """``PlainClient`` behind the ``OwnClient`` protocol: ``call_api(path) -> status``."""

    name = "plain-client"

    def __init__(self, client: PlainClient, api_base_url: str) -> None:
        self.client = client
        self.api_base_url = api_base_url.rstrip("/")

    def call_api(self, path: str) -> int:
        try:
            return self.client.get(f"{self.api_base_url}{path}").status_code
        except requests.HTTPError as error:  # the token request failed
            return error.response.status_code if error.response is not None else 0


def factory(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> MeasuredClient:
    """What ``--strategies examples.own_client:factory`` calls. Own clients keep their own clock."""
    plain = PlainClient(
        settings.token_url, settings.client_id, settings.client_secret, settings.audience
    )
    return MeasuredClient(plain, settings.api_base_url)
