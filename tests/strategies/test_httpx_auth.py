"""Every named strategy through the httpx driver, against respx-mocked providers."""

from __future__ import annotations

import base64
import json
import random

import httpx
import pytest
import respx

from quotalab.clock import VirtualClock
from quotalab.drivers import StrategyAuth
from quotalab.errors import CredentialsError, ThrottledError
from quotalab.strategies import (
    ClientSettings,
    RetryPolicy,
    TokenPolicy,
    make_strategy,
)
from tests.strategies.conftest import (
    API_URL,
    AUTH0_TOKEN_URL,
    TWITTER_TOKEN_URL,
    Sleeper,
    token_body,
    token_sequence,
)

OK = httpx.Response(200, json={"users": []})
GLOBAL_LIMIT = {
    "statusCode": 429,
    "error": "Too Many Requests",
    "message": "Global limit has been reached",
}
TWITTER_99 = (
    b'{"errors":[{"label":"authenticity_token_error","code":99,'
    b'"message":"Unable to verify your credentials"}]}'
)


def client_for(
    strategy_name: str,
    settings: ClientSettings,
    clock: VirtualClock,
    sleeper: Sleeper,
    rng: random.Random,
    **kw: object,
) -> httpx.Client:
    strategy = make_strategy(strategy_name, settings, clock=clock, rng=rng, **kw)  # type: ignore[arg-type]
    return httpx.Client(auth=StrategyAuth(strategy, sleep=sleeper))


@respx.mock
def test_auth0_token_request_is_json_with_audience_and_bearer_reaches_api(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=token_body(1))
    api = respx.get(API_URL).mock(return_value=OK)
    with client_for("cached", auth0, clock, sleeper, rng) as client:
        assert client.get(API_URL).status_code == 200
    sent = token.calls.last.request
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.content) == {
        "client_id": "client-1",
        "client_secret": "s3cret",
        "audience": "https://api.example.com/",
        "grant_type": "client_credentials",
    }
    assert api.calls.last.request.headers["authorization"] == "Bearer tok-1"


@respx.mock
def test_twitter_token_request_is_basic_with_form_body(
    twitter: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(TWITTER_TOKEN_URL).mock(return_value=token_body(1, expires_in=None))
    respx.get(API_URL).mock(return_value=OK)
    with client_for("cached", twitter, clock, sleeper, rng) as client:
        client.get(API_URL)
    sent = token.calls.last.request
    expected = base64.b64encode(b"key%20with%20space:sec%2Fret").decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert sent.content == b"grant_type=client_credentials"


@respx.mock
def test_cached_fetches_one_token_for_a_thousand_calls(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence())
    api = respx.get(API_URL).mock(return_value=OK)
    with client_for("cached", auth0, clock, sleeper, rng) as client:
        for _ in range(1000):
            client.get(API_URL)
            clock.advance(1.0)  # 1,000 s: well inside 86,400 - 300
    assert token.call_count == 1
    assert api.call_count == 1000


@respx.mock
def test_naive_fetches_a_token_per_call(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence())
    respx.get(API_URL).mock(return_value=OK)
    with client_for("naive", auth0, clock, sleeper, rng) as client:
        for _ in range(20):
            client.get(API_URL)
    assert token.call_count == 20


@respx.mock
def test_cached_refetches_after_expiry_minus_margin(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence(expires_in=3600))
    api = respx.get(API_URL).mock(return_value=OK)
    with client_for("cached", auth0, clock, sleeper, rng) as client:
        client.get(API_URL)
        clock.advance(3600 - 300 - 1)
        client.get(API_URL)
        assert token.call_count == 1
        clock.advance(1)
        client.get(API_URL)
    assert token.call_count == 2
    assert api.calls.last.request.headers["authorization"] == "Bearer tok-2"


@respx.mock
def test_twitter_token_without_lifetime_is_cached_until_invalidated(
    twitter: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(TWITTER_TOKEN_URL).mock(side_effect=token_sequence(expires_in=None))
    invalid = httpx.Response(
        401, json={"errors": [{"code": 89, "message": "Invalid or expired token."}]}
    )
    api = respx.get(API_URL).mock(side_effect=[OK, OK, invalid, OK])
    with client_for("cached", twitter, clock, sleeper, rng) as client:
        client.get(API_URL)
        clock.advance(365 * 86400)
        client.get(API_URL)
        assert token.call_count == 1
        assert client.get(API_URL).status_code == 200  # code 89: refetch once, retry once
    assert token.call_count == 2
    assert api.calls.last.request.headers["authorization"] == "Bearer tok-2"


@respx.mock
def test_invalid_token_401_refetches_once_not_in_a_loop(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence())
    expired = httpx.Response(
        401,
        headers={
            "WWW-Authenticate": 'Bearer realm="api", error="invalid_token", '
            'error_description="jwt expired"'
        },
    )
    api = respx.get(API_URL).mock(return_value=expired)
    with client_for("cached+backoff", auth0, clock, sleeper, rng) as client:
        response = client.get(API_URL)
    assert response.status_code == 401  # the API's answer, after exactly one more try
    assert token.call_count == 2
    assert api.call_count == 2
    assert sleeper.waits == []


@respx.mock
def test_backoff_fails_n_times_then_succeeds(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(503),
            httpx.Response(429, json=GLOBAL_LIMIT),
            token_body(1),
        ]
    )
    api = respx.get(API_URL).mock(side_effect=[httpx.Response(503), OK])
    policy = RetryPolicy(max_attempts=5, base_s=1.0, factor=2.0, max_delay_s=30.0, budget_s=120.0)
    with client_for("cached+backoff", auth0, clock, sleeper, rng, retry_policy=policy) as client:
        assert client.get(API_URL).status_code == 200
    assert token.call_count == 4
    assert api.call_count == 2
    assert len(sleeper.waits) == 4
    # Full jitter: each own delay lies under its exponential ceiling.
    ceilings = [1.0, 2.0, 4.0, 1.0]  # 3 token failures, then the API's first failure
    assert all(0 <= w <= c for w, c in zip(sleeper.waits, ceilings, strict=True))


@respx.mock
def test_retries_stop_at_max_attempts_with_a_typed_error(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=httpx.Response(429, json=GLOBAL_LIMIT))
    policy = RetryPolicy(max_attempts=3)
    with (
        client_for("backoff", auth0, clock, sleeper, rng, retry_policy=policy) as client,
        pytest.raises(ThrottledError) as caught,
    ):
        client.get(API_URL)
    assert caught.value.status == 429
    assert token.call_count == 3
    assert len(sleeper.waits) == 2


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [
        ({"Retry-After": "17"}, 17.0),
        ({"Retry-After": "Fri, 15 Jan 2027 08:00:42 GMT"}, 42.0),
        ({"RateLimit": '"default";r=0;t=23'}, 23.0),
        ({"Auth0-RateLimit": "client;q=10;t=9;r=0"}, 9.0),
        ({"x-ratelimit-reset": str(int(VirtualClock.DEFAULT_START) + 37)}, 37.0),
        ({"x-rate-limit-reset": str(int(VirtualClock.DEFAULT_START) + 41)}, 41.0),
        # Above max_delay_s: a server-given reset is still honoured in full.
        ({"x-ratelimit-reset": str(int(VirtualClock.DEFAULT_START) + 95)}, 95.0),
    ],
)
@respx.mock
def test_waits_equal_the_server_reset_exactly(
    auth0: ClientSettings,
    clock: VirtualClock,
    sleeper: Sleeper,
    rng: random.Random,
    headers: dict[str, str],
    expected_wait: float,
) -> None:
    throttled = httpx.Response(429, headers=headers, json=GLOBAL_LIMIT)
    respx.post(AUTH0_TOKEN_URL).mock(side_effect=[throttled, token_body(1)])
    respx.get(API_URL).mock(return_value=OK)
    with client_for("cached+backoff", auth0, clock, sleeper, rng) as client:
        client.get(API_URL)
    assert sleeper.waits == [expected_wait]
    assert clock.now() == VirtualClock.DEFAULT_START + expected_wait


@respx.mock
def test_retry_after_outranks_reset_headers(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    throttled = httpx.Response(
        429,
        headers={
            "x-ratelimit-reset": str(int(clock.now()) + 50),
            "Auth0-RateLimit": "client;q=10;t=30;r=0",
            "Retry-After": "5",
        },
    )
    respx.post(AUTH0_TOKEN_URL).mock(side_effect=[throttled, token_body(1)])
    respx.get(API_URL).mock(return_value=OK)
    with client_for("cached+backoff", auth0, clock, sleeper, rng) as client:
        client.get(API_URL)
    assert sleeper.waits == [5.0]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "access_denied", "error_description": "Unauthorized"}),
        (403, {"error": "access_denied", "error_description": "Service not found: x"}),
        (403, {"error": "unauthorized_client", "error_description": "Grant type not allowed"}),
    ],
)
@pytest.mark.parametrize("name", ["naive", "cached", "backoff", "cached+backoff", "article"])
@respx.mock
def test_no_retry_on_bad_credentials(
    auth0: ClientSettings,
    clock: VirtualClock,
    sleeper: Sleeper,
    rng: random.Random,
    name: str,
    status: int,
    body: dict[str, str],
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=httpx.Response(status, json=body))
    api = respx.get(API_URL).mock(return_value=OK)
    with (
        client_for(name, auth0, clock, sleeper, rng) as client,
        pytest.raises(CredentialsError) as caught,
    ):
        client.get(API_URL)
    assert caught.value.status == status
    assert token.call_count == 1
    assert api.call_count == 0
    assert sleeper.waits == []


@respx.mock
def test_api_insufficient_scope_is_returned_not_retried(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence())
    forbidden = httpx.Response(
        403, headers={"WWW-Authenticate": 'Bearer realm="api", error="insufficient_scope"'}
    )
    api = respx.get(API_URL).mock(return_value=forbidden)
    with client_for("cached+backoff", auth0, clock, sleeper, rng) as client:
        assert client.get(API_URL).status_code == 403
    assert api.call_count == 1
    assert sleeper.waits == []


@respx.mock
def test_twitter_403_code_99_cools_down_then_succeeds(
    twitter: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    throttled = httpx.Response(
        403, content=TWITTER_99, headers={"content-type": "application/json; charset=utf-8"}
    )
    token = respx.post(TWITTER_TOKEN_URL).mock(
        side_effect=[throttled, throttled, token_body(1, None)]
    )
    respx.get(API_URL).mock(return_value=OK)
    policy = RetryPolicy(max_attempts=5, cooldown_s=90.0, max_delay_s=10.0, budget_s=600.0)
    with client_for("cached+backoff", twitter, clock, sleeper, rng, retry_policy=policy) as client:
        assert client.get(API_URL).status_code == 200
    assert token.call_count == 3
    assert sleeper.waits == [90.0, 90.0]


@respx.mock
def test_twitter_403_code_99_without_retries_is_a_throttle_error(
    twitter: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    respx.post(TWITTER_TOKEN_URL).mock(return_value=httpx.Response(403, content=TWITTER_99))
    with (
        client_for("cached", twitter, clock, sleeper, rng) as client,
        pytest.raises(ThrottledError),
    ):
        client.get(API_URL)


@respx.mock
def test_budget_stops_waiting_before_it_is_exceeded(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "40"})
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=throttled)
    policy = RetryPolicy(max_attempts=10, budget_s=100.0)
    with (
        client_for("backoff", auth0, clock, sleeper, rng, retry_policy=policy) as client,
        pytest.raises(ThrottledError),
    ):
        client.get(API_URL)
    assert sleeper.waits == [40.0, 40.0]  # a third wait would reach 120 > 100
    assert token.call_count == 3


@respx.mock
def test_cached_without_single_flight_still_caches(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence())
    respx.get(API_URL).mock(return_value=OK)
    policy = TokenPolicy(single_flight=False)
    with client_for("cached", auth0, clock, sleeper, rng, token_policy=policy) as client:
        for _ in range(10):
            client.get(API_URL)
    assert token.call_count == 1


@pytest.mark.anyio
@respx.mock
async def test_async_client_uses_the_same_core(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper, rng: random.Random
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), token_body(1)]
    )
    respx.get(API_URL).mock(return_value=OK)
    strategy = make_strategy("cached+backoff", auth0, clock=clock, rng=rng)
    auth = StrategyAuth(strategy, async_sleep=sleeper.asleep)
    async with httpx.AsyncClient(auth=auth) as client:
        for _ in range(5):
            assert (await client.get(API_URL)).status_code == 200
    assert token.call_count == 2
    assert sleeper.waits == [3.0]


@respx.mock
def test_named_auth_on_real_time_fetches_one_token_for_many_calls(
    auth0: ClientSettings,
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(return_value=token_body(1))
    api = respx.get(API_URL).mock(return_value=OK)
    with httpx.Client(auth=StrategyAuth.named("cached+backoff", auth0, seed=1)) as client:
        statuses = {client.get(API_URL).status_code for _ in range(20)}
    assert statuses == {200}
    assert token.call_count == 1 and api.call_count == 20
