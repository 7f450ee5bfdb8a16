"""Each named strategy against the real mock provider, in-process via ASGI.

The provider and the strategies share one virtual clock, so a strategy's
cool-down really lets the provider's window pass. ``/_admin/stats`` is the
judge: it counts token requests server-side, whatever the client believes.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.drivers import StrategyAuth
from quotalab.errors import ThrottledError
from quotalab.limits import MemoryStore
from quotalab.profiles import load_config
from quotalab.server import MockProvider
from quotalab.server.asgi import ProviderApp
from quotalab.server.keys import SigningKeys
from quotalab.strategies import ClientSettings, RetryPolicy, make_strategy
from tests.strategies.conftest import Sleeper

BASE = "http://127.0.0.1:8000"
CALLS = 20
AUTH0_API = "/api/data"
TWITTER_API = "/2/tweets/search/recent?query=quotalab"

pytestmark = pytest.mark.anyio


_KEYS: dict[str, SigningKeys] = {}


def serve(profile: str, clock: VirtualClock) -> ProviderApp:
    config = load_config(profile)
    algorithm = config.settings.token_signing
    keys = _KEYS.get(algorithm) or _KEYS.setdefault(algorithm, SigningKeys(algorithm))
    provider = MockProvider(
        config, clock, MemoryStore(), MemoryCounters(), keys=keys, base_url=BASE
    )
    return ProviderApp(provider)


def settings_for(profile: str) -> ClientSettings:
    if profile == "auth0":
        return ClientSettings(
            style="auth0",
            token_url=f"{BASE}/oauth/token",
            client_id="demo-client",
            client_secret="demo-secret",
            audience="https://api.quotalab.test/",
            api_base_url=BASE,
        )
    return ClientSettings(
        style="twitter",
        token_url=f"{BASE}/oauth2/token",
        client_id="demo-key",
        client_secret="demo-secret",
        api_base_url=BASE,
    )


async def workload(
    app: ProviderApp, strategy_name: str, profile: str, clock: VirtualClock, **kw: Any
) -> tuple[list[int | str], dict[str, int]]:
    """``CALLS`` sequential API calls one second apart; outcomes and the client's counters."""
    strategy = make_strategy(
        strategy_name, settings_for(profile), clock=clock, rng=random.Random(5), **kw
    )
    sleeper = Sleeper(clock)
    auth = StrategyAuth(strategy, async_sleep=sleeper.asleep)
    path = AUTH0_API if profile == "auth0" else TWITTER_API
    transport = httpx.ASGITransport(app=app)
    outcomes: list[int | str] = []
    async with httpx.AsyncClient(transport=transport, base_url=BASE, auth=auth) as client:
        for _ in range(CALLS):
            try:
                outcomes.append((await client.get(path)).status_code)
            except ThrottledError:
                outcomes.append("throttled")
            clock.advance(1.0)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as admin:
        stats = (await admin.get("/_admin/stats")).json()
    client_id = settings_for(profile).client_id
    return outcomes, stats["clients"].get(client_id, {})


@pytest.mark.parametrize(
    ("name", "token_requests"),
    [("naive", CALLS), ("backoff", CALLS), ("cached", 1), ("cached+backoff", 1), ("article", 1)],
)
async def test_auth0_token_requests_per_strategy(
    name: str, token_requests: int, clock: VirtualClock
) -> None:
    outcomes, counts = await workload(serve("auth0", clock), name, "auth0", clock)
    assert outcomes == [200] * CALLS
    assert counts["token_requests"] == token_requests
    assert counts["tokens_issued"] == token_requests


async def test_twitter_naive_trips_code_99_and_cached_does_not(clock: VirtualClock) -> None:
    app = serve("twitter", clock)
    outcomes, counts = await workload(app, "naive", "twitter", clock)
    window_limit = 15  # twitter.toml: token_negotiation limit per 60 s window
    assert outcomes[:window_limit] == [200] * window_limit
    assert "throttled" in outcomes
    assert counts["forbidden_403_99"] == outcomes.count("throttled")

    app = serve("twitter", clock)
    outcomes, counts = await workload(app, "cached+backoff", "twitter", clock)
    assert outcomes == [200] * CALLS
    assert counts["token_requests"] == 1


async def test_twitter_backoff_cools_down_through_the_window(clock: VirtualClock) -> None:
    policy = RetryPolicy(max_attempts=3, cooldown_s=60.0, budget_s=300.0)
    outcomes, counts = await workload(
        serve("twitter", clock), "backoff", "twitter", clock, retry_policy=policy
    )
    assert outcomes == [200] * CALLS
    assert counts["tokens_issued"] == CALLS
    assert counts["forbidden_403_99"] >= 1
    assert counts["token_requests"] == CALLS + counts["forbidden_403_99"]
