"""Fixtures for strategy tests: provider settings, token bodies, virtual sleeping."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from quotalab.clock import VirtualClock
from quotalab.strategies import ClientSettings

AUTH0_TOKEN_URL = "https://tenant.example.com/oauth/token"
TWITTER_TOKEN_URL = "https://api.twitter.example.com/oauth2/token"
API_URL = "https://api.example.com/v1/users"


@pytest.fixture
def auth0() -> ClientSettings:
    return ClientSettings(
        style="auth0",
        token_url=AUTH0_TOKEN_URL,
        client_id="client-1",
        client_secret="s3cret",
        audience="https://api.example.com/",
        api_base_url="https://api.example.com",
    )


@pytest.fixture
def twitter() -> ClientSettings:
    return ClientSettings(
        style="twitter",
        token_url=TWITTER_TOKEN_URL,
        client_id="key with space",
        client_secret="sec/ret",
        api_base_url="https://api.example.com",
    )


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


def token_body(n: int = 1, expires_in: int | None = 86400) -> httpx.Response:
    """A token response; the access token names its sequence number."""
    body: dict[str, object] = {"access_token": f"tok-{n}", "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return httpx.Response(200, content=json.dumps(body).encode())


def token_sequence(expires_in: int | None = 86400):  # type: ignore[no-untyped-def]
    """A respx side effect handing out tok-1, tok-2, ... one per request."""
    counter = {"n": 0}

    def issue(request: httpx.Request) -> httpx.Response:
        counter["n"] += 1
        return token_body(counter["n"], expires_in)

    return issue


class Sleeper:
    """An injected sleep that advances a virtual clock and records every wait."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self(seconds)


@pytest.fixture
def sleeper(clock: VirtualClock) -> Sleeper:
    return Sleeper(clock)
