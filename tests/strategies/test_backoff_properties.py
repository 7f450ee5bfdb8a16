"""Hypothesis properties of the retry arithmetic and of whole retrying flows."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from quotalab.clock import VirtualClock
from quotalab.errors import StrategyError
from quotalab.strategies import (
    ClientSettings,
    RetryPolicy,
    compute_backoff,
    make_strategy,
    plan_retry,
    server_wait_s,
)
from quotalab.strategies.messages import AwaitRefresh, Send, Sleep
from quotalab.wire import HttpRequest, HttpResponse, TransportError

SETTINGS = ClientSettings(
    style="auth0", token_url="https://t.example/oauth/token", client_id="c", client_secret="s"
)
API = HttpRequest("GET", "https://api.example/v1/x")

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 12),
    base_s=st.floats(0, 10),
    factor=st.floats(1, 4),
    max_delay_s=st.floats(0, 120),
    budget_s=st.floats(0, 600),
    jitter=st.booleans(),
    cooldown_s=st.floats(0, 900),
)
unit = st.floats(0, 1, exclude_max=True)
waits = st.none() | st.floats(0, 1000)


@given(policies, st.integers(1, 10_000), unit)
def test_own_delays_never_exceed_max_delay(policy: RetryPolicy, attempt: int, u: float) -> None:
    assert 0 <= compute_backoff(policy, attempt, u) <= policy.max_delay_s


@given(policies, st.integers(1, 20), st.floats(0, 600), waits, unit)
def test_plan_retry_contract(
    policy: RetryPolicy, attempt: int, waited_s: float, server_wait: float | None, u: float
) -> None:
    delay = plan_retry(policy, attempt, waited_s, server_wait, u)
    if attempt >= policy.max_attempts:
        assert delay is None
    if delay is None:
        return
    assert waited_s + delay <= policy.budget_s
    if server_wait is not None:
        assert delay == server_wait  # never undercut, never padded
    else:
        assert delay <= policy.max_delay_s


def throttle(now: float, kind: int, wait: int) -> HttpResponse | TransportError:
    if kind == 0:
        return HttpResponse(429, {"retry-after": str(wait)})
    if kind == 1:
        return HttpResponse(429, {"x-ratelimit-reset": str(int(now) + wait)})
    if kind == 2:
        return HttpResponse(429, {"auth0-ratelimit": f"client;q=10;t={wait};r=0"})
    if kind == 3:
        return HttpResponse(503)
    if kind == 4:
        return TransportError("connection refused")
    return HttpResponse(429)


failures = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 200)), max_size=15)


@given(policies, failures, st.integers(0, 2**32))
def test_a_retrying_flow_keeps_every_promise(
    policy: RetryPolicy, script: list[tuple[int, int]], seed: int
) -> None:
    """Token endpoint fails per ``script`` then succeeds; the flow's waits obey the policy."""
    clock = VirtualClock()
    strategy = make_strategy(
        "backoff", SETTINGS, clock=clock, rng=random.Random(seed), retry_policy=policy
    )
    flow = strategy.call(API)
    token_sends = 0
    total_wait = 0.0
    last: HttpResponse | TransportError | None = None
    reply: HttpResponse | TransportError | None = None
    try:
        while True:
            action = flow.send(reply)
            reply = None
            if isinstance(action, Sleep):
                hint = server_wait_s(last, clock.now()) if isinstance(last, HttpResponse) else None
                if hint is not None:
                    assert action.seconds == hint  # a server-given reset is never undercut
                else:
                    assert action.seconds <= policy.max_delay_s
                total_wait += action.seconds
                clock.advance(action.seconds)
            elif isinstance(action, Send) and action.purpose == "token":
                if token_sends < len(script):
                    reply = throttle(clock.now(), *script[token_sends])
                else:
                    reply = HttpResponse(200, body=b'{"access_token":"t","expires_in":60}')
                token_sends += 1
                last = reply
            elif isinstance(action, Send):
                reply = HttpResponse(200)
            else:
                assert not isinstance(action, AwaitRefresh)
    except StopIteration:
        assert token_sends == len(script) + 1
    except StrategyError:
        pass
    assert token_sends <= policy.max_attempts
    assert total_wait <= policy.budget_s
