"""Fast-forward counts quiet calls arithmetically; the results must equal event-by-event play."""

from __future__ import annotations

import dataclasses

import pytest

from quotalab.sim.scenario import SimSettings, StrategyRun, run_strategy


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


@pytest.mark.parametrize("strategy", ["cached+backoff", "cached"])
@pytest.mark.parametrize("settings", CASES, ids=lambda s: f"{s.profile}-{s.traffic}")
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
