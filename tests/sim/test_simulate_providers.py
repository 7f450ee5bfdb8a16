"""``quotalab simulate`` on the Entra ID and Okta profiles: caching and backoff pay off."""

from __future__ import annotations

import pytest

from quotalab.sim.scenario import SimSettings, run_strategy


@pytest.mark.parametrize("profile", ["entra", "okta"])
def test_cached_backoff_asks_far_less_than_naive(profile: str) -> None:
    settings = SimSettings(
        profile=profile,
        clients=25,
        duration_s=600.0,
        rate=2.0,  # 50 calls/s in all: past Entra's per-app and Okta's per-org limits
        strategies=("naive", "cached+backoff"),
        seed=3,
    )
    naive = run_strategy(settings, "naive").result.tallies
    best = run_strategy(settings, "cached+backoff").result.tallies
    naive_tokens = sum(t.token_requests for t in naive.values())
    best_tokens = sum(t.token_requests for t in best.values())
    naive_ok = sum(t.ok for t in naive.values())
    best_ok = sum(t.ok for t in best.values())
    calls = sum(t.calls for t in best.values())
    assert best_tokens == 25  # one token per client for the whole run
    assert naive_tokens > 100 * best_tokens
    assert best_ok == calls  # never throttled, never looping
    assert naive_ok < calls  # the providers refuse the naive client
