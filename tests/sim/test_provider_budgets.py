"""Backoff budgets fit the provider: Twitter's 15-minute windows are waited out, not given up."""

from __future__ import annotations

from pathlib import Path

from quotalab.profiles import load_config
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.strategies import make_strategy
from quotalab.strategies.profile_client import client_settings_for

# 0.6 calls/s for 20 minutes: 540 calls in the first 15-minute window of 450, so
# 90 calls meet a 429 whose x-rate-limit-reset lies minutes away.
SETTINGS = dict(
    profile="twitter", clients=1, duration_s=1200.0, rate=0.6, strategies=("cached+backoff",)
)


def failed_calls(config_path: str | None) -> tuple[int, int]:
    settings = SimSettings(**SETTINGS, config_path=config_path)  # type: ignore[arg-type]
    tallies = run_strategy(settings, "cached+backoff").result.tallies.values()
    return sum(t.failed for t in tallies), sum(t.calls for t in tallies)


def test_the_twitter_profile_budget_waits_out_the_window() -> None:
    failed, calls = failed_calls(None)
    assert calls == 720 and failed == 0


def test_the_old_120_s_budget_gives_up_on_the_same_traffic(tmp_path: Path) -> None:
    short = tmp_path / "short.toml"
    short.write_text("[provider]\nclient_retry_budget_s = 120\n")
    failed, calls = failed_calls(str(short))
    assert calls == 720 and failed > 0


def test_the_profile_budget_reaches_the_strategy() -> None:
    import random

    from quotalab.clock import VirtualClock

    config = load_config("twitter")
    settings = client_settings_for(config, next(iter(config.clients.values())), "http://x")
    strategy = make_strategy("cached+backoff", settings, clock=VirtualClock(), rng=random.Random(0))
    assert strategy.retry.budget_s == 960  # type: ignore[attr-defined]
    naive = make_strategy("naive", settings, clock=VirtualClock(), rng=random.Random(0))
    assert naive.retry.max_attempts == 1  # type: ignore[attr-defined]
