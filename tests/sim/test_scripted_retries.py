"""Backoff calls played without their flow, in herds (``quotalab.sim.scripted_retries``),
report as played.

The engine plays a retrying no-cache call's token requests itself, wakes the
calls waiting for one reset as one herd, reads one answer once for a herd,
and hands a call to a real flow, started where the script stands, whenever
something unusual happens. Each scenario runs through the script and through
the full provider path (``fast_path=False``: real flows, every request
parsed), and every reported figure must be equal: counts, series, latencies,
first messages and the provider's own stats.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotalab.clock import VirtualClock
from quotalab.errors import InputError
from quotalab.limits.store import REJECTION_MARGIN_S
from quotalab.server.mock_provider import MockProvider
from quotalab.sim.fast_provider import FastProvider
from quotalab.sim.refusal_proofs import reset_second_holds
from quotalab.sim.scenario import SimSettings, build_run, run_strategy, simulation_config
from quotalab.wire import HttpRequest, HttpResponse
from tests.sim.both_ways import plain_python_only, play_both_ways
from tests.sim.test_fast_forward import observable
from tests.sim.test_scripted_calls import FAULTS
from tests.sim.test_scripted_calls import TWEAKS as NAIVE_TWEAKS

TWEAKS = {
    **NAIVE_TWEAKS,
    # A 429 with no wait in it: every retry waits a jittered backoff of its own,
    # so each member's draw decides when it wakes.
    "no wait header": "[limits.oauth_token]\nheaders = {}\n",
    # Waits that shrink through a stretch of refusals (a token every 4 s): each
    # refusal reads anew.
    "retry-after in seconds": (
        "[limits.oauth_token]\nburst = 3\nrefill_rate = 0.25\n"
        'headers = { "retry-after" = "${retry_after}" }\n'
    ),
    "reset in seconds": (
        "[limits.oauth_token]\nburst = 3\nrefill_rate = 0.25\n"
        'headers = { "ratelimit-reset" = "${reset_in}" }\n'
    ),
    # A first wait of 1-2 s, then about 1 s each, against a budget of 2.5 s: some calls
    # give up on their second wait, the others on their third.
    "short retry budget": "[provider]\nclient_retry_budget_s = 2.5\n",
    # The same against 4.5 s: it binds on the fourth wait for about half the calls,
    # after two waits slept in one herd.
    "longer retry budget": "[provider]\nclient_retry_budget_s = 4.5\n",
    # A window's end is stored: one refusal reads the same until it ends.
    "fixed window": (
        '[endpoints.token]\nlimits = ["token_window", "m2m_quota"]\n'
        '[limits.token_window]\nalgorithm = "fixed_window"\nlimit = 20\nwindow_s = 2\n'
        'key = ["tenant"]\nreject = "global_limit"\n'
        'headers = { "x-ratelimit-reset" = "${reset_at}" }\n'
    ),
}

RETRY_FAULTS = {
    **FAULTS,
    # 15 ms on the API: with 1.25 ms per request a call lasts 17.5 ms, which the two
    # ways of adding up its instants file under 17 or 18 ms.
    "api latency 15 ms": {"endpoints": {"api_data": {"latency_ms": 15}}},
}

PROFILES = ["auth0", "auth0", "auth0", "twitter", "okta", "entra"]
STRATEGIES = ("backoff", "cached+backoff")


def both_ways(
    tmp_path: Path,
    settings: SimSettings,
    tweak: str,
    faults: str,
    strategy: str = "backoff",
    events: dict[str, int] | None = None,
) -> tuple[dict[str, object], dict[str, object]]:
    """The reports of ``settings`` scripted and played (``events``: how many each took)."""
    scripted, played = play_both_ways(
        tmp_path, settings, strategy, TWEAKS[tweak], RETRY_FAULTS[faults]
    )
    if events is not None:
        events.update(scripted=scripted.result.events, played=played.result.events)
    return observable(scripted), observable(played)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    profile=st.sampled_from(PROFILES),
    tweak=st.sampled_from(sorted(TWEAKS)),
    faults=st.sampled_from(sorted(FAULTS)),
    traffic=st.sampled_from(["constant", "poisson", "diurnal", "burst"]),
    clients=st.integers(1, 6),
    workers=st.integers(1, 2),
    rate=st.sampled_from([1.0, 8.0, 40.0]),
    duration_s=st.integers(5, 90),
    seed=st.integers(0, 2**16),
    latency_s=st.sampled_from([0.0, 0.01, 0.02, 0.5, 0.0015, 0.00125]),
)
def test_scripted_backoff_calls_report_as_played(
    tmp_path: Path,
    profile: str,
    tweak: str,
    faults: str,
    traffic: str,
    clients: int,
    workers: int,
    rate: float,
    duration_s: int,
    seed: int,
    latency_s: float,
) -> None:
    settings = SimSettings(
        profile=profile,
        clients=clients,
        workers_per_client=workers,
        duration_s=float(duration_s),
        traffic=traffic,
        rate=rate / clients,
        seed=seed,
        latency_s=latency_s,
        fast_forward=False,  # constant traffic would be replayed by the period search
    )
    scripted, played = both_ways(tmp_path, settings, tweak, faults)
    assert scripted == played


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("tweak", "faults"),
    [(tweak, "none") for tweak in sorted(TWEAKS)]
    # Herds of refusals, and 503s without a wait whose retries wait a jitter:
    # every draw a herd makes moves the ones that count.
    + [("none", "token 503s"), ("tight token bucket", "token 503s")]
    # API 503s: their retries wait a jitter drawn after the discarded ones of the
    # worker's calls in herds.
    + [("none", "api 503s")],
)
def test_a_throttled_backoff_run_reports_as_played(
    tmp_path: Path, tweak: str, faults: str, strategy: str
) -> None:
    """120 calls/s against 30 tokens/s: herds of refused calls wake at every reset."""
    settings = SimSettings(clients=8, duration_s=20.0, traffic="poisson", rate=15.0, seed=7)
    events: dict[str, int] = {}
    scripted, played = both_ways(tmp_path, settings, tweak, faults, strategy, events)
    assert scripted == played
    tallies = scripted["tallies"]
    assert isinstance(tallies, dict)
    calls = sum(t["calls"] for t in tallies.values())
    assert calls > 1500
    if strategy == "backoff":  # the script played them: herds, and calls without a flow
        assert events["scripted"] < events["played"]
    if strategy == "backoff" and tweak == "none" and faults == "none":
        token_requests = sum(t["token_requests"] for t in tallies.values())
        assert token_requests > 3 * calls  # most calls retried, several times
        first = {t["first_messages"].get("ThrottledError") for t in tallies.values()}
        assert first == {"token request: still throttled after 5 tries (HTTP 429)"}


@pytest.mark.parametrize("drain_s", [0.0, 1.5, 2.7])
def test_calls_cut_off_mid_retry_count_what_they_sent(tmp_path: Path, drain_s: float) -> None:
    """Calls still retrying when the run stops (``drain_s`` after the end) are cut off
    there, and count every token request they sent, as their flows do."""
    settings = SimSettings(
        clients=8, duration_s=20.0, traffic="poisson", rate=15.0, seed=7, drain_s=drain_s
    )
    scripted, played = both_ways(tmp_path, settings, "none", "none")
    assert scripted == played
    tallies = scripted["tallies"]
    assert isinstance(tallies, dict)
    # Some calls never ended: they were cut off mid-retry, and failed as abandoned.
    assert sum(t["errors"].get("abandoned", 0) for t in tallies.values()) > 50
    assert all(t["calls"] == t["ok"] + t["failed"] for t in tallies.values())


def test_a_drain_must_not_be_negative() -> None:
    with pytest.raises(InputError, match="drain must be >= 0 s"):
        SimSettings(drain_s=-1.0)


def test_herds_wake_as_one_event(tmp_path: Path) -> None:
    """The refused calls waiting for one reset are one heap entry, not one each."""
    settings = SimSettings(clients=8, duration_s=20.0, traffic="poisson", rate=15.0, seed=7)
    run = run_strategy(dataclasses.replace(settings, strategies=("backoff",)), "backoff")
    full = run_strategy(
        dataclasses.replace(settings, strategies=("backoff",), fast_path=False), "backoff"
    )
    assert run.result.events < full.result.events / 2


def _drained_tenant() -> tuple[VirtualClock, MockProvider, FastProvider, list[HttpRequest]]:
    """Three backoff clients' token requests known to a fast provider whose tenant has
    no token left, each client refused once (its plan is in the refusal's window)."""
    settings = SimSettings(clients=3, duration_s=5.0, traffic="poisson", rate=1.0)
    clock = VirtualClock()
    provider, workers = build_run(settings, "backoff", clock, simulation_config(settings))
    fast = FastProvider(provider)
    fast.proves_refusals = True
    requests = [w.group.strategy.token_request for w in workers]  # type: ignore[attr-defined]
    for request in requests:
        fast.respond(request)  # known from now on
    while not isinstance(fast.grant_exact(requests[0]), HttpResponse):
        pass  # the tenant's tokens, to the last
    for request in requests:
        assert isinstance(fast.grant_exact(request), HttpResponse)
    return clock, provider, fast, requests


def test_refusals_alike_read_no_further_than_they_go() -> None:
    """``refuse_alike`` stops at the first request refused otherwise (a long herd is
    not read again after every member the provider decides itself)."""
    clock, provider, fast, requests = _drained_tenant()
    refused = fast.grant_exact(requests[0])
    assert isinstance(refused, HttpResponse) and refused.status == 429
    read: list[int] = []

    def reading(n: int) -> Iterator[HttpRequest]:
        for i in range(n):
            read.append(i)
            yield requests[i % len(requests)]

    assert fast.refuse_alike(reading(5), refused) == 5
    read.clear()
    other = HttpResponse(429, refused.headers, refused.body)  # equal, not the one given
    assert fast.refuse_alike(reading(5), other) == 0
    assert read == []
    clock.advance(0.001)  # another instant: the limiter decides again
    assert fast.refuse_alike(reading(5), refused) == 0
    before = provider.stats()["clients"]["sim-client-0000"]["token_requests"]
    assert isinstance(fast.grant_exact(requests[0]), HttpResponse)
    assert provider.stats()["clients"]["sim-client-0000"]["token_requests"] == before + 1


@plain_python_only
def test_a_herd_just_before_the_next_token_is_refused_alike() -> None:
    """A herd waking closer to the tenant's next token than the store's rounding margin
    is refused once by the limiter and alike after that, not request by request (a
    burst's herd of thousands met such an instant about once an hour)."""
    clock, provider, fast, requests = _drained_tenant()
    store = provider.limiter.store
    decided: list[float] = []
    apply = store.apply

    def counted(algorithm: object, key: str, now: float, cost: int = 1) -> object:
        decided.append(now)
        return apply(algorithm, key, now, cost)  # type: ignore[arg-type]

    store.apply = counted  # type: ignore[method-assign]
    clock.advance(1 / 30 - REJECTION_MARGIN_S / 3)  # Auth0's 30 a second: almost a token
    first = fast.grant_exact(requests[0])
    assert isinstance(first, HttpResponse) and first.status == 429
    asked = len(decided)
    assert asked > 0
    assert fast.refuse_alike(iter(requests * 20), first) == 60
    assert fast.grant_exact(requests[1]) is first
    assert len(decided) == asked  # not asked again at that instant
    clock.advance(REJECTION_MARGIN_S)  # the token is there: the limiter decides again
    assert not isinstance(fast.grant_exact(requests[0]), HttpResponse)
    assert len(decided) > asked


@pytest.mark.parametrize("strategy", ["tests.sim.toy:skewed_backoff", "tests.sim.toy:skewed_naive"])
@pytest.mark.parametrize("latency_s", [0.0, 0.02])
def test_a_client_on_its_own_clock_reports_as_played(
    tmp_path: Path, strategy: str, latency_s: float
) -> None:
    """A flow reads its answers at its own clock's time: a client whose clock is not
    the engine's is played by its flow, and reports what it did."""
    settings = SimSettings(
        clients=10,
        workers_per_client=2,
        duration_s=40.0,
        traffic="burst",
        rate=6.0,
        latency_s=latency_s,
        seed=21,
        fast_forward=False,
    )
    scripted, played = both_ways(tmp_path, settings, "none", "none", strategy)
    assert scripted == played


def test_a_reset_next_to_its_whole_second_is_read_anew() -> None:
    """A refusal is reused through its stretch only if its ``reset_at`` second cannot
    round to another one when computed at a later instant."""
    whole = 1_700_000_000.0
    assert reset_second_holds(whole + 0.5)
    assert reset_second_holds(whole - 0.5)
    assert not reset_second_holds(whole)
    assert not reset_second_holds(math.nextafter(whole, 0.0))
    assert not reset_second_holds(math.nextafter(whole, math.inf))
    assert not reset_second_holds(whole + 4 * math.ulp(whole))


@pytest.mark.parametrize(
    ("faults", "tweak", "rate", "seed"),
    [("token latency", "none", 3.0, 5097), ("api latency 15 ms", "tight token bucket", 6.0, 11)],
)
def test_an_injected_latency_ends_a_backoff_call_when_played(
    tmp_path: Path, faults: str, tweak: str, rate: float, seed: int
) -> None:
    """A backoff call handed to its flow with an injected latency resumes at
    ``t + (latency + injected)``, the engine's own sum: ``(t + latency) + injected``
    files some calls a millisecond away in the latency histogram."""
    settings = SimSettings(
        clients=5,
        duration_s=20.0,
        traffic="poisson",
        rate=rate,
        seed=seed,
        latency_s=0.00125,
        fast_forward=False,
    )
    scripted, played = both_ways(tmp_path, settings, tweak, faults)
    assert scripted == played
