"""Fast-forward counts quiet calls arithmetically; the results must equal event-by-event play."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotalab.clock import Clock, VirtualClock
from quotalab.sim.engine import Engine
from quotalab.sim.event_queue import EventQueue
from quotalab.sim.fast_provider import FastProvider
from quotalab.sim.fastforward import ProviderOracle
from quotalab.sim.scenario import (
    SimSettings,
    StrategyRun,
    build_run,
    run_strategy,
    simulation_config,
)
from quotalab.strategies.article import ArticleStrategy
from quotalab.strategies.backoff import RetryPolicy
from quotalab.strategies.client import ClientStrategy
from quotalab.strategies.client_settings import ClientSettings, Token
from quotalab.strategies.messages import Send, Strategy
from quotalab.strategies.token_cache import TokenCache, TokenPolicy

CACHING = ["cached+backoff", "cached", "article"]
"""The strategies whose calls can be quiet."""


def observable(run: StrategyRun) -> dict[str, object]:
    """Everything a run reports: per-client tallies, series, latencies, provider stats."""
    result = run.result
    return {
        "tallies": {cid: dataclasses.asdict(t) for cid, t in sorted(result.tallies.items())},
        "series": result.series.values,
        "latencies": result.latencies.counts,
        "provider": run.provider_stats,
    }


SHORT_TOKENS = "[provider]\ntoken_lifetime_s = 600\n"
"""Tokens living 10 minutes: cached clients refresh several times per case."""

CASES = [
    SimSettings(clients=2, duration_s=1800.0, traffic="constant", rate=1.0),
    SimSettings(clients=1, duration_s=1200.0, traffic="poisson", rate=2.0, seed=3),
    # Fast calls: gaps shorter than the API bucket's refill end quiet stretches.
    SimSettings(clients=1, duration_s=900.0, traffic="burst", rate=2.0, seed=5),
    SimSettings(clients=1, duration_s=1200.0, traffic="diurnal", rate=1.0, seed=11),
    # Twitter: opaque tokens, and a fixed API window that binds at 1 call/s.
    SimSettings(profile="twitter", clients=1, duration_s=1200.0, rate=1.0),
    # Several workers per client: the oracle must stay out of the way.
    SimSettings(clients=2, workers_per_client=2, duration_s=600.0, traffic="poisson"),
]


@pytest.fixture(scope="module")
def short_tokens(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sim") / "short-tokens.toml"
    path.write_text(SHORT_TOKENS, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("settings", "strategy"),
    [
        pytest.param(settings, strategy, id=f"{settings.profile}-{settings.traffic}-{strategy}")
        for settings in CASES
        for strategy in CACHING
        if strategy != "article" or settings.profile == "auth0"  # the article's is Auth0's client
    ],
)
def test_fast_forward_equals_event_by_event(
    settings: SimSettings, strategy: str, short_tokens: str
) -> None:
    if settings.profile == "auth0":
        settings = dataclasses.replace(settings, config_path=short_tokens)
    fast = run_strategy(settings, strategy)
    slow = run_strategy(dataclasses.replace(settings, fast_forward=False), strategy)
    assert slow.result.skipped_calls == 0
    if settings.profile == "auth0" and settings.workers_per_client == 1:
        assert fast.result.skipped_calls > 0
        assert fast.result.tallies["sim-client-0000"].token_requests > 1
    assert observable(fast) == observable(slow)


def test_fast_forward_skips_most_calls_of_a_cached_client() -> None:
    settings = SimSettings(clients=2, duration_s=6 * 3600.0)
    run = run_strategy(settings, "cached+backoff")
    calls = sum(t.calls for t in run.result.tallies.values())
    assert calls == 2 * 6 * 3600
    assert run.result.skipped_calls > 0.99 * calls


def both_ways(
    tmp_path: Path, settings: SimSettings, strategy: str, profile: str, faults: dict[str, object]
) -> tuple[StrategyRun, StrategyRun]:
    """``strategy`` fast-forwarded and event by event, under profile overrides and faults."""
    config = tmp_path / "profile.toml"
    config.write_text(profile, encoding="utf-8")
    faults_path = tmp_path / "faults.json"
    faults_path.write_text(json.dumps(faults), encoding="utf-8")
    settings = dataclasses.replace(settings, config_path=str(config))
    fast = run_strategy(settings, strategy, faults_path=str(faults_path))
    slow = run_strategy(
        dataclasses.replace(settings, fast_forward=False), strategy, faults_path=str(faults_path)
    )
    assert slow.result.skipped_calls == 0
    return fast, slow


TIGHT_API = "[limits.api]\nburst = 4\nrefill_rate = 3\n"
"""An API bucket that calls at a few per second drain and refill."""

TWO_BUCKETS = """
[endpoints.api_data]
limits = ["api", "api_slow"]
[limits.api_slow]
algorithm = "token_bucket"
burst = 6
refill_rate = 2.5
key = ["client"]
reject = "per_client"
"""

LIMIT_CASES: dict[str, tuple[SimSettings, str, dict[str, object]]] = {
    # Bursts of 10 calls/s: a call closer than the API bucket's 1/50 s refill
    # every few calls; the bucket never runs dry.
    "close calls": (SimSettings(clients=2, duration_s=1800.0, traffic="burst", rate=1.0), "", {}),
    # Bursts of 80 calls/s against 50/s: the bucket runs dry in every burst.
    "runs dry": (SimSettings(clients=1, duration_s=1200.0, traffic="burst", rate=8.0), "", {}),
    "tight poisson": (
        SimSettings(clients=2, duration_s=900.0, traffic="poisson", rate=3.0),
        TIGHT_API,
        {},
    ),
    "tight burst": (
        SimSettings(clients=1, duration_s=1200.0, traffic="burst", rate=0.4),
        TIGHT_API,
        {},
    ),
    # A second, slower per-client bucket on the API: the gate follows both.
    "two buckets": (
        SimSettings(clients=2, duration_s=900.0, traffic="poisson", rate=2.0),
        TWO_BUCKETS,
        {},
    ),
    # The provider's clock ahead of or behind the engine's: buckets see skewed times.
    "skew ahead": (
        SimSettings(clients=2, duration_s=900.0, traffic="burst", rate=2.0),
        "",
        {"clock_offset_s": 400},
    ),
    "skew behind": (
        SimSettings(clients=2, duration_s=900.0, traffic="poisson", rate=5.0),
        TIGHT_API,
        {"clock_offset_s": -400.25},
    ),
}


@pytest.mark.parametrize("strategy", CACHING)
@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_fast_forward_follows_the_api_bucket_exactly(
    tmp_path: Path, case: str, strategy: str
) -> None:
    base, profile, faults = LIMIT_CASES[case]
    settings = dataclasses.replace(base, seed=len(case))
    fast, slow = both_ways(tmp_path, settings, strategy, SHORT_TOKENS + profile, faults)
    assert observable(fast) == observable(slow)
    throttled = sum(t.api_throttled for t in fast.result.tallies.values())
    assert fast.result.skipped_calls > 0
    if case in ("runs dry", "tight poisson", "tight burst", "two buckets", "skew behind"):
        assert throttled > 0  # stretches really stopped where the bucket refused


def test_bursts_closer_than_the_refill_are_counted_not_played() -> None:
    settings = SimSettings(clients=2, duration_s=3 * 3600.0, traffic="burst", rate=1.0)
    for strategy in CACHING:
        run = run_strategy(settings, strategy)
        calls = sum(t.calls for t in run.result.tallies.values())
        assert calls > 20_000
        assert run.result.skipped_calls > 0.99 * calls, strategy


def test_the_article_is_quiet_until_exactly_its_own_refresh_instant() -> None:
    settings = SimSettings(clients=1, duration_s=30.0, traffic="constant")
    clock = VirtualClock()
    provider, workers = build_run(settings, "article", clock, simulation_config(settings))
    queue = EventQueue()
    oracle = ProviderOracle(provider, 1, queue.at)
    engine = Engine(
        FastProvider(provider), clock, workers, duration_s=30.0, queue=queue, oracle=oracle
    )
    assert engine.run().skipped_calls > 20
    worker, article = workers[0], workers[0].group.strategy
    assert isinstance(article, ArticleStrategy) and article.fetches == 1
    horizon = oracle.quiet_until(worker, clock.now())
    assert horizon == article.expires_at - 60.0
    # The article's own rule: the cached token up to the horizon, a fetch from it on.
    for at, purpose in ((math.nextafter(horizon, 0.0), "api"), (horizon, "token")):
        clock.set(at)
        first = next(article.call(worker.request))
        assert isinstance(first, Send) and first.purpose == purpose


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    strategy=st.sampled_from(CACHING),
    traffic=st.sampled_from(["constant", "poisson", "diurnal", "burst"]),
    clients=st.integers(1, 2),
    rate=st.sampled_from([0.3, 1.0, 3.0, 8.0]),
    burst=st.integers(1, 60),
    refill_rate=st.sampled_from([0.5, 2.0, 7.3, 50.0]),
    lifetime_s=st.sampled_from([120, 600, 86400]),
    skew_s=st.sampled_from([0.0, 400.0, -400.25]),
    latency_s=st.sampled_from([0.0, 0.02, 0.3]),
    seed=st.integers(0, 2**16),
)
def test_fast_forward_equals_event_by_event_on_random_scenarios(
    tmp_path: Path,
    strategy: str,
    traffic: str,
    clients: int,
    rate: float,
    burst: int,
    refill_rate: float,
    lifetime_s: int,
    skew_s: float,
    latency_s: float,
    seed: int,
) -> None:
    profile = (
        f"[provider]\ntoken_lifetime_s = {lifetime_s}\n"
        f"[limits.api]\nburst = {burst}\nrefill_rate = {refill_rate}\n"
    )
    settings = SimSettings(
        clients=clients,
        duration_s=300.0,
        traffic=traffic,
        rate=rate,
        seed=seed,
        latency_s=latency_s,
    )
    fast, slow = both_ways(tmp_path, settings, strategy, profile, {"clock_offset_s": skew_s})
    assert observable(fast) == observable(slow)


class UseCountingCache(TokenCache):
    """A cache of one's own: its token serves 100 calls, then it is fetched again
    (``valid`` counts its uses: no plain function of time)."""

    __slots__ = ("uses",)

    def __init__(self) -> None:
        super().__init__()
        self.uses = 0

    def valid(self, now: float, margin_s: float) -> str | None:
        token = super().valid(now, margin_s)
        if token is None:
            return None
        self.uses += 1
        if self.uses > 100:
            self.uses = 0
            return None
        return token

    def store(self, token: Token) -> None:
        super().store(token)
        self.uses = 0


def use_counting(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> Strategy:
    return ClientStrategy(
        "use-counting",
        settings,
        token=TokenPolicy(),
        retry=RetryPolicy(max_attempts=1),
        clock=clock,
        rng=rng,
        cache=UseCountingCache(),
    )


def test_a_cache_of_ones_own_is_played_not_fast_forwarded() -> None:
    """Fast-forward bisects the built-in cache's ``valid`` in time; a cache whose ``valid``
    counts uses would be skipped past its refreshes (3 token requests instead of 54)."""
    spec = f"{__name__}:use_counting"
    settings = SimSettings(clients=3, duration_s=1800.0, strategies=(spec,))
    fast = run_strategy(settings, spec)
    slow = run_strategy(dataclasses.replace(settings, fast_forward=False), spec)
    assert observable(fast) == observable(slow)
    requests = sum(t.token_requests for t in slow.result.tallies.values())
    assert requests == 3 * math.ceil(1800 / 101)  # one per 101 calls of each client
    assert fast.result.skipped_calls == 0
