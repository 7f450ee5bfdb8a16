"""--strategy specs: built-ins, user factories, both protocols, and clear errors."""

from __future__ import annotations

import random

import httpx
import pytest
import respx

from quotalab.clock import VirtualClock
from quotalab.drivers import StrategyAuth
from quotalab.errors import InputError
from quotalab.server.runner import build_provider, serve_in_thread
from quotalab.strategies import NAMES, ClientSettings, OwnClient, build_strategy, load_strategy
from tests.strategies.conftest import API_URL, AUTH0_TOKEN_URL, Sleeper, token_sequence


def not_a_strategy(settings: ClientSettings, *, clock: object, rng: object) -> object:
    return 42


@pytest.mark.parametrize("name", NAMES)
def test_builtin_names_load(name: str, auth0: ClientSettings, clock: VirtualClock) -> None:
    strategy = build_strategy(name, auth0, clock=clock, rng=random.Random(0))
    assert strategy.name == name


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "neither a built-in"),
        ("no_such_module_xyz:factory", "cannot import"),
        ("examples.own_client:missing", "has no 'missing'"),
        ("examples.own_client:PlainClient.name", "has no"),
        (":factory", "expected 'package.module:factory'"),
        ("examples.own_client:", "expected 'package.module:factory'"),
        ("examples.own_client:__doc__", "not callable"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_strategy(spec)


def test_a_factory_returning_neither_protocol_is_refused(
    auth0: ClientSettings, clock: VirtualClock
) -> None:
    spec = f"{__name__}:not_a_strategy"
    with pytest.raises(InputError, match="neither name and call"):
        build_strategy(spec, auth0, clock=clock, rng=random.Random(0))


@respx.mock
def test_user_sans_io_strategy_runs_under_httpx(
    auth0: ClientSettings, clock: VirtualClock, sleeper: Sleeper
) -> None:
    strategy = build_strategy(
        "examples.custom_strategy:factory", auth0, clock=clock, rng=random.Random(0)
    )
    assert not isinstance(strategy, OwnClient)
    token = respx.post(AUTH0_TOKEN_URL).mock(side_effect=token_sequence())
    respx.get(API_URL).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    with httpx.Client(auth=StrategyAuth(strategy, sleep=sleeper)) as client:
        assert client.get(API_URL).status_code == 200
    assert token.call_count == 1
    assert len(sleeper.waits) == 1


def demo_settings(base_url: str, secret: str = "demo-secret") -> ClientSettings:
    return ClientSettings(
        style="auth0",
        token_url=f"{base_url}/oauth/token",
        client_id="demo-client",
        client_secret=secret,
        audience="https://api.quotalab.test/",
        api_base_url=base_url,
    )


@pytest.mark.live
def test_own_requests_client_is_measured_by_the_server(clock: VirtualClock) -> None:
    provider = build_provider("auth0")
    with serve_in_thread(provider) as base_url:
        settings = demo_settings(base_url)
        client = build_strategy(
            "examples.own_client:factory", settings, clock=clock, rng=random.Random(0)
        )
        assert isinstance(client, OwnClient)
        assert [client.call_api("/api/data") for _ in range(3)] == [200, 200, 200]
    counts = provider.stats()["clients"]["demo-client"]
    assert counts["token_requests"] == 1
    assert counts["api_ok"] == 3


@pytest.mark.live
def test_own_client_reports_a_refused_token_as_its_status(clock: VirtualClock) -> None:
    provider = build_provider("auth0")
    with serve_in_thread(provider) as base_url:
        settings = demo_settings(base_url, secret="wrong")
        client = build_strategy(
            "examples.own_client:factory", settings, clock=clock, rng=random.Random(0)
        )
        assert isinstance(client, OwnClient)
        assert client.call_api("/api/data") == 401
