"""The seed article's Auth0Client, step by step under a virtual clock."""

from __future__ import annotations

import random

import httpx
import pytest
import respx

from quotalab.clock import VirtualClock
from quotalab.drivers import StrategyAuth
from quotalab.errors import InputError, ThrottledError, UnavailableError
from quotalab.strategies import ClientSettings, make_strategy
from tests.strategies.conftest import API_URL, AUTH0_TOKEN_URL, Sleeper, token_body

OK = httpx.Response(200, json={})


def article_client(settings: ClientSettings, clock: VirtualClock, sleeper: Sleeper) -> httpx.Client:
    strategy = make_strategy("article", settings, clock=clock, rng=random.Random(0))
    return httpx.Client(auth=StrategyAuth(strategy, sleep=sleeper))


@respx.mock
def test_sleeps_reset_minus_now_plus_one_on_429_with_reset(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    clock.advance(0.75)  # int(now) truncates the fraction, as the article's int(time.time())
    reset = int(clock.now()) + 10
    throttled = httpx.Response(429, headers={"x-ratelimit-reset": str(reset)})
    respx.post(AUTH0_TOKEN_URL).mock(side_effect=[throttled, token_body(1)])
    respx.get(API_URL).mock(return_value=OK)
    with article_client(auth0, clock, sleeper) as client:
        client.get(API_URL)
    assert sleeper.waits == [reset - int(VirtualClock.DEFAULT_START + 0.75) + 1]


@respx.mock
def test_503_and_bare_429_sleep_two_to_the_attempt_then_give_up_after_five(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(429)] * 2 + [httpx.Response(429)]
    )
    with article_client(auth0, clock, sleeper) as client, pytest.raises(ThrottledError):
        client.get(API_URL)
    assert token.call_count == 5
    assert sleeper.waits == [1.0, 2.0, 4.0, 8.0]


@respx.mock
def test_api_calls_are_not_retried_and_a_401_does_not_refetch(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=token_body(1))
    api = respx.get(API_URL).mock(
        side_effect=[
            httpx.Response(429),
            httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}),
        ]
    )
    with article_client(auth0, clock, sleeper) as client:
        assert client.get(API_URL).status_code == 429
        assert client.get(API_URL).status_code == 401
    assert token.call_count == 1
    assert api.call_count == 2


@respx.mock
def test_margin_is_sixty_seconds_from_now_plus_expires_in(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=token_body(1, expires_in=600))
    respx.get(API_URL).mock(return_value=OK)
    with article_client(auth0, clock, sleeper) as client:
        client.get(API_URL)
        clock.advance(600 - 60 - 0.5)
        client.get(API_URL)
        assert token.call_count == 1
        clock.advance(0.5)
        client.get(API_URL)
    assert token.call_count == 2


@respx.mock
def test_missing_expires_in_is_an_error_as_in_the_article(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    respx.post(AUTH0_TOKEN_URL).mock(return_value=token_body(1, expires_in=None))
    with article_client(auth0, clock, sleeper) as client, pytest.raises(UnavailableError):
        client.get(API_URL)


def test_article_speaks_only_auth0(twitter: ClientSettings, clock: VirtualClock) -> None:
    with pytest.raises(InputError, match="auth0"):
        make_strategy("article", twitter, clock=clock, rng=random.Random(0))
