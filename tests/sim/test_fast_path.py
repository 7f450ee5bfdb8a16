"""The simulation's fast path (``FastProvider``, token handles) decides as the full provider.

One source of truth: random scenarios are played both ways, through
``FastProvider`` with opaque token handles and through today's full
``MockProvider.respond`` with signed JWTs, and every reported figure must be
the same.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quotalab.clock import VirtualClock
from quotalab.server.request_plans import RequestPlan
from quotalab.sim.engine import Engine
from quotalab.sim.fast_provider import FastProvider
from quotalab.sim.scenario import SimSettings, build_run, run_strategy, simulation_config
from quotalab.sim.token_handles import HANDLE_PREFIX, HandleKeys
from quotalab.strategies import NAMES
from quotalab.wire import HttpRequest
from tests.sim.both_ways import plain_python_only, play_both_ways
from tests.sim.test_fast_forward import observable

PROFILE_TWEAKS = {
    "none": "",
    "short tokens": "[provider]\ntoken_lifetime_s = 90\n",
    "tokens of seconds": "[provider]\ntoken_lifetime_s = 9\nvalidation_leeway_s = 0\n",
    "nbf and issuer": '[provider]\ninclude_nbf = true\nissuer = "https://tenant.example/"\n',
    "tight token bucket": "[limits.oauth_token]\nburst = 3\nrefill_rate = 0.5\n",
    "tight api bucket": "[limits.api]\nburst = 2\nrefill_rate = 1\n",
    "quota runs out": '[limits.m2m_quota]\nlimit = 40\nenforce = true\nperiod = "day"\n',
    "limits off": "[provider]\nlimits_enabled = false\n",
    "interval refill": '[limits.oauth_token]\nrefill = "interval"\nburst = 5\nrefill_rate = 2\n',
}
"""Profile overrides (auth0) that move the decisions the fast path must copy."""

FAULTS = {
    "none": None,
    "token 503s": {"endpoints": {"token": {"probability": 0.2, "retry_after_s": 1}}},
    "api 503s": {"endpoints": {"api_data": {"probability": 0.1}}},
    "api latency": {"endpoints": {"api_data": {"latency_ms": 30}}},
    "token outage": {"endpoints": {"token": {"schedule": [[20, 50]]}}},
    "clock skew": {"clock_offset_s": 400},
}


def both_paths(
    tmp_path: Path, settings: SimSettings, strategy: str, tweak: str, faults: str
) -> tuple[dict[str, object], dict[str, object]]:
    fast, full = play_both_ways(tmp_path, settings, strategy, PROFILE_TWEAKS[tweak], FAULTS[faults])
    return observable(fast), observable(full)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    strategy=st.sampled_from(NAMES),
    profile=st.sampled_from(["auth0", "auth0", "auth0", "twitter"]),
    tweak=st.sampled_from(sorted(PROFILE_TWEAKS)),
    faults=st.sampled_from(sorted(FAULTS)),
    traffic=st.sampled_from(["constant", "poisson", "diurnal", "burst"]),
    clients=st.integers(1, 3),
    workers=st.integers(1, 2),
    shared_cache=st.booleans(),
    rate=st.sampled_from([0.2, 1.0, 4.0, 15.0]),
    duration_s=st.integers(10, 240),
    seed=st.integers(0, 2**16),
    latency_s=st.sampled_from([0.0, 0.02, 0.3]),
    fast_forward=st.booleans(),
)
def test_fast_path_reports_equal_the_full_provider_path(
    tmp_path: Path,
    strategy: str,
    profile: str,
    tweak: str,
    faults: str,
    traffic: str,
    clients: int,
    workers: int,
    shared_cache: bool,
    rate: float,
    duration_s: int,
    seed: int,
    latency_s: float,
    fast_forward: bool,
) -> None:
    assume(not (strategy == "article" and profile == "twitter"))  # an Auth0 client only
    settings = SimSettings(
        profile=profile,
        clients=clients,
        workers_per_client=workers,
        shared_cache=shared_cache,
        duration_s=float(duration_s),
        traffic=traffic,
        rate=rate / clients,
        seed=seed,
        latency_s=latency_s,
        fast_forward=fast_forward,
    )
    fast, full = both_paths(tmp_path, settings, strategy, tweak, faults)
    assert fast == full


@pytest.mark.parametrize("strategy", NAMES)
@pytest.mark.parametrize(
    ("tweak", "faults"),
    [
        ("none", "none"),
        ("short tokens", "token 503s"),
        ("tight api bucket", "api 503s"),
        ("quota runs out", "none"),
        ("tokens of seconds", "clock skew"),
    ],
)
def test_every_strategy_reports_the_same_both_ways(
    tmp_path: Path, strategy: str, tweak: str, faults: str
) -> None:
    settings = SimSettings(clients=3, duration_s=120.0, traffic="poisson", rate=8.0, seed=1)
    fast, full = both_paths(tmp_path, settings, strategy, tweak, faults)
    assert fast == full


def test_the_fast_path_answers_a_naive_day_without_the_full_provider() -> None:
    """Where nothing is unusual, no request of the simulation is parsed or signed."""
    settings = SimSettings(clients=5, duration_s=300.0, traffic="poisson", rate=2.0)
    clock = VirtualClock()
    provider, workers = build_run(settings, "naive", clock, simulation_config(settings))
    fast = FastProvider(provider)
    result = Engine(fast, clock, workers, duration_s=settings.duration_s).run()
    requests = sum(t.token_requests + t.api_calls for t in result.tallies.values())
    assert requests > 1000
    assert fast.answered == requests
    assert fast.delegated == 0
    assert provider.stats()["clients"]["sim-client-0000"]["tokens_issued"] > 0


def test_a_request_handed_to_the_full_provider_is_read_once() -> None:
    """Another provider's token requests go to the full provider path, which reads each
    request object from its bytes once (``MockProvider.read``), not once a call."""
    settings = SimSettings(profile="okta", clients=3, duration_s=120.0, traffic="poisson")
    clock = VirtualClock()
    provider, workers = build_run(settings, "naive", clock, simulation_config(settings))
    read = provider.read
    reads: list[int] = []

    def counted(request: HttpRequest) -> RequestPlan:
        reads.append(id(request))
        return read(request)

    provider.read = counted  # type: ignore[method-assign]
    fast = FastProvider(provider)
    result = Engine(fast, clock, workers, duration_s=settings.duration_s).run()
    token_requests = sum(t.token_requests for t in result.tallies.values())
    assert fast.delegated >= token_requests > 300
    assert len(reads) == len(set(reads)) < 10


def test_handles_carry_the_claims_they_were_signed_with() -> None:
    keys = HandleKeys(seed=3)
    claims = {"iss": "i", "sub": "c@clients", "aud": "a", "iat": 100, "exp": 160, "azp": "c"}
    token = keys.sign(claims)
    assert token.startswith(HANDLE_PREFIX) and len(token) < 20
    assert keys.verify(token) == claims
    assert keys.expires_at(token) == 160.0
    assert keys.sign({**claims, "iat": 101, "exp": 161}) != token
    for forged in ("qlh.9.100", "qlh.0.x", "qlh.0", "qlh..", "qlh.٣.100"):
        assert keys.verify(forged) == "jwt malformed"
    # Anything else is an HS256 JWT of these keys, verified as before.
    jwt = keys.sign({**claims, "aud": ["a", "b"]})
    assert not jwt.startswith(HANDLE_PREFIX)
    assert keys.verify(jwt) == {**claims, "aud": ["a", "b"]}
    assert isinstance(keys.verify(jwt[:-4] + "AAAA"), str)  # refused, as any forged JWT


@plain_python_only
@pytest.mark.parametrize("strategy", [name for name in NAMES if name != "article"])
@pytest.mark.parametrize("profile", ["okta", "entra"])
def test_profiles_with_their_own_claims_report_the_same_both_ways(
    profile: str, strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Okta names the client ``cid`` and its scopes ``scp``; Entra's scopes are ``roles``:
    the fast path reads a token's client and scopes as the full path does, and answers
    those API calls itself."""
    answered: list[int] = []
    api = FastProvider._api

    def counting(self: FastProvider, plan: object, authorization: str) -> object:
        response = api(self, plan, authorization)  # type: ignore[arg-type]
        answered.append(response is not None)
        return response

    monkeypatch.setattr(FastProvider, "_api", counting)
    settings = SimSettings(
        profile=profile,
        clients=3,
        duration_s=120.0,
        traffic="poisson",
        rate=5.0,
        fast_forward=False,
    )
    fast = observable(run_strategy(settings, strategy))
    full = observable(run_strategy(dataclasses.replace(settings, fast_path=False), strategy))
    assert fast == full
    assert sum(answered) > 0.9 * len(answered) > 100
