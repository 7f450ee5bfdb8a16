"""The send loop's pure step (``quotalab.strategies.retry_step``) and calls resumed mid-way."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quotalab.clock import VirtualClock
from quotalab.errors import ThrottledError
from quotalab.strategies import ClientSettings, RetryPolicy, make_strategy
from quotalab.strategies.messages import Send, Sleep
from quotalab.strategies.retry_step import Retryable, read_answer, retry_delay, retry_step
from quotalab.wire import HttpRequest, HttpResponse, TransportError

SETTINGS = ClientSettings(
    style="auth0", token_url="https://t.example/oauth/token", client_id="c", client_secret="s"
)
API = HttpRequest("GET", "https://api.example/v1/x")
TOKEN = HttpResponse(200, {}, b'{"access_token":"tok","expires_in":60}')


def throttle(reset_at: int) -> HttpResponse:
    return HttpResponse(429, {"x-ratelimit-reset": str(reset_at)}, b'{"statusCode":429}')


@given(
    st.integers(1, 8),
    st.floats(0, 200),
    st.sampled_from([throttle(1010), HttpResponse(503, {}, b""), TransportError("reset")]),
    st.integers(0, 2**16),
)
def test_a_step_gives_up_waits_or_returns_as_the_parts_say(
    attempt: int, waited_s: float, reply: HttpResponse | TransportError, seed: int
) -> None:
    policy = RetryPolicy(max_attempts=5)
    read = read_answer(reply, 1000.0, api=False, policy=policy)
    assert isinstance(read, Retryable)
    one, two = random.Random(seed), random.Random(seed)
    expected = retry_delay(policy, attempt, waited_s, read.hint_s, one.random)
    if expected is None:
        given_up = read.give_up(attempt)
        with pytest.raises(type(given_up), match=re.escape(str(given_up))):
            retry_step(
                reply, 1000.0, api=False, attempt=attempt, waited_s=waited_s,
                policy=policy, draw=two.random,
            )  # fmt: skip
    else:
        step = retry_step(
            reply, 1000.0, api=False, attempt=attempt, waited_s=waited_s,
            policy=policy, draw=two.random,
        )  # fmt: skip
        assert step == expected
    # The same draws were spent: none past max_attempts, one otherwise.
    assert one.getstate() == two.getstate()
    untouched = random.Random(seed).getstate()
    assert (one.getstate() == untouched) == (attempt >= policy.max_attempts)


def test_a_definite_no_to_a_token_request_raises_and_an_api_answer_is_final() -> None:
    policy = RetryPolicy(max_attempts=5)
    refused = HttpResponse(401, {}, b'{"error":"access_denied"}')
    with pytest.raises(Exception, match="token request: refused"):
        read_answer(refused, 0.0, api=False, policy=policy)
    assert read_answer(HttpResponse(404, {}, b""), 0.0, api=True, policy=policy).status == 404


def test_a_resumed_call_goes_on_where_its_driver_left_it() -> None:
    """Three refused token requests played elsewhere: the flow sends the 4th and 5th only."""
    clock = VirtualClock(1000.0)
    strategy = make_strategy("backoff", SETTINGS, clock=clock, rng=random.Random(1))
    flow = strategy.call(API, waited_s=110.0, token_sends=3)
    action = flow.send(None)
    assert isinstance(action, Send) and action.purpose == "token"
    action = flow.send(throttle(1005))  # attempt 4: 5 s fits the 120 s budget
    assert action == Sleep(5.0)
    clock.advance(5.0)
    assert isinstance(flow.send(None), Send)
    given_up = r"token request: still throttled after 5 tries \(HTTP 429\)$"
    with pytest.raises(ThrottledError, match=given_up):
        flow.send(throttle(1011))  # attempt 5 of 5: give up


def test_a_resumed_call_with_its_token_sends_the_api_request_first() -> None:
    clock = VirtualClock(1000.0)
    strategy = make_strategy("backoff", SETTINGS, clock=clock, rng=random.Random(1))
    flow = strategy.call(API, waited_s=3.0, access_token="tok")
    action = flow.send(None)
    assert isinstance(action, Send) and action.purpose == "api"
    assert action.request.headers == (("authorization", "Bearer tok"),)
    with pytest.raises(StopIteration) as done:
        flow.send(HttpResponse(200, {}, b"{}"))
    assert done.value.value.status == 200
    fresh = strategy.call(API)
    assert isinstance(fresh.send(None), Send)
    assert fresh.send(TOKEN).purpose == "api"  # type: ignore[union-attr]


@pytest.mark.parametrize("under_way", [{"token_sends": 2}, {"access_token": "tok"}])
def test_a_call_under_way_is_not_handed_to_a_caching_client(under_way: dict[str, object]) -> None:
    strategy = make_strategy(
        "cached+backoff", SETTINGS, clock=VirtualClock(1000.0), rng=random.Random(1)
    )
    flow = strategy.call(API, **under_way)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="without a token cache"):
        flow.send(None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("naive", "token request: throttled (HTTP 429)"),  # one send: never retried
        ("backoff", "token request: still throttled after 5 tries (HTTP 429)"),
        ("article", "token request: still throttled after 5 tries (HTTP 429)"),
    ],
)
def test_a_give_up_on_a_throttle_says_how_often_the_request_was_sent(
    name: str, expected: str
) -> None:
    clock = VirtualClock(1000.0)
    strategy = make_strategy(name, SETTINGS, clock=clock, rng=random.Random(1))
    flow = strategy.call(API)
    action = flow.send(None)
    with pytest.raises(ThrottledError) as raised:
        while True:
            assert isinstance(action, Send) and action.purpose == "token"
            action = flow.send(throttle(int(clock.now()) + 1))
            if isinstance(action, Sleep):
                clock.advance(action.seconds)
                action = flow.send(None)
    assert str(raised.value) == expected
