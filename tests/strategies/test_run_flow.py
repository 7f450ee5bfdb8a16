"""The generic blocking and asyncio loops that locust and other drivers call."""

from __future__ import annotations

import random

import httpx
import pytest
import respx

from quotalab.clock import VirtualClock
from quotalab.drivers import (
    AsyncRefreshGate,
    RefreshGate,
    from_httpx_response,
    run_flow_async,
    run_flow_sync,
    to_httpx_request,
)
from quotalab.errors import ThrottledError, UnavailableError
from quotalab.strategies import ClientSettings, RetryPolicy, make_strategy
from quotalab.strategies.messages import Purpose
from quotalab.wire import HttpRequest, HttpResponse, TransportError
from tests.strategies.conftest import API_URL, AUTH0_TOKEN_URL, Sleeper, token_body

API = HttpRequest("GET", API_URL)


def sender(client: httpx.Client):  # type: ignore[no-untyped-def]
    def send(request: HttpRequest, purpose: Purpose) -> HttpResponse | TransportError:
        try:
            return from_httpx_response(client.send(to_httpx_request(request)))
        except httpx.TransportError as error:
            return TransportError(type(error).__name__)

    return send


@respx.mock
def test_transport_errors_are_retried(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    token = respx.post(AUTH0_TOKEN_URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), token_body(1)]
    )
    respx.get(API_URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200)])
    strategy = make_strategy("cached+backoff", auth0, clock=clock, rng=random.Random(3))
    with httpx.Client() as client:
        response = run_flow_sync(strategy.call(API), sender(client), sleeper, RefreshGate())
    assert response.status == 200
    assert token.call_count == 3
    assert len(sleeper.waits) == 3


@respx.mock
def test_transport_errors_outlasting_retries_raise_unavailable(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    respx.post(AUTH0_TOKEN_URL).mock(side_effect=httpx.ConnectError("refused"))
    strategy = make_strategy(
        "backoff",
        auth0,
        clock=clock,
        rng=random.Random(3),
        retry_policy=RetryPolicy(max_attempts=2),
    )
    with httpx.Client() as client, pytest.raises(UnavailableError):
        run_flow_sync(strategy.call(API), sender(client), sleeper, RefreshGate())


@pytest.mark.anyio
async def test_async_loop_drives_the_same_flow(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    sent: list[Purpose] = []
    replies = iter([HttpResponse(503), HttpResponse(200, body=b'{"access_token":"a"}')])

    async def send(request: HttpRequest, purpose: Purpose) -> HttpResponse:
        sent.append(purpose)
        return next(replies) if purpose == "token" else HttpResponse(204)

    strategy = make_strategy("cached+backoff", auth0, clock=clock, rng=random.Random(3))
    response = await run_flow_async(strategy.call(API), send, sleeper.asleep, AsyncRefreshGate())
    assert response.status == 204
    assert sent == ["token", "token", "api"]
    assert len(sleeper.waits) == 1


class NoWaitGate(RefreshGate):
    """A gate that fails the test instead of parking a flow on a stale refresh claim."""

    __slots__ = ()

    def wait(self, cache: object) -> None:
        raise AssertionError("a flow waited on a refresh nobody is doing")


def test_a_send_that_raises_mid_refresh_releases_the_claim(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    sent: list[Purpose] = []

    def broken(request: HttpRequest, purpose: Purpose) -> HttpResponse:
        raise RuntimeError("the caller's send blew up")

    def working(request: HttpRequest, purpose: Purpose) -> HttpResponse:
        sent.append(purpose)
        return (
            HttpResponse(200, body=b'{"access_token":"a"}')
            if purpose == "token"
            else (HttpResponse(204))
        )

    strategy = make_strategy("cached+backoff", auth0, clock=clock, rng=random.Random(3))
    flow = strategy.call(API)  # still referenced: only the driver can close it
    with pytest.raises(RuntimeError):
        run_flow_sync(flow, broken, sleeper, NoWaitGate())
    response = run_flow_sync(strategy.call(API), working, sleeper, NoWaitGate())
    assert response.status == 204
    assert sent == ["token", "api"]


def test_a_retry_never_made_draws_no_jitter(auth0: ClientSettings, clock: VirtualClock) -> None:
    # A client that does not retry keeps its random stream as it was: the
    # simulation compares it across periods to find ones that repeat.
    rng = random.Random(5)
    before = rng.getstate()
    strategy = make_strategy("naive", auth0, clock=clock, rng=rng)
    flow = strategy.call(API)
    sent = flow.send(None)
    assert sent.purpose == "token"  # type: ignore[union-attr]
    throttled = HttpResponse(429, {"retry-after": "1"}, b'{"error":"too_many_requests"}')
    with pytest.raises(ThrottledError):
        flow.send(throttled)
    assert rng.getstate() == before
