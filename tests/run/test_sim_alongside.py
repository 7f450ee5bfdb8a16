"""A simulated day next to the live projection: the same load, compared, within a budget."""

from __future__ import annotations

from typing import Any

from quotalab.report.day_projection import IssuanceObservation
from quotalab.run.live_measurements import figures_of
from quotalab.run.live_tally import Tally
from quotalab.run.orchestrate import RunResult
from quotalab.run.sim_alongside import sim_settings_for, simulate_alongside, why_not_simulated
from tests.run.run_settings import run_settings


def settings(**overrides: Any) -> Any:
    options: dict[str, Any] = {
        "strategies": "naive,cached",
        "users": 2,
        "rate": 1.0,
        "duration": "12s",
    }
    return run_settings(**{**options, **overrides})


def live_result(chosen: Any, tokens: dict[str, tuple[float, ...]]) -> RunResult:
    figures, observations = [], {}
    for name, times in tokens.items():
        server = {"api_calls": 24, "api_ok": 24, "token_requests": len(times)}
        server["tokens_issued"] = len(times)
        figures.append(figures_of(name, Tally(), server, 0.0, chosen.duration_s))
        observations[name] = IssuanceObservation(12.0, times, 24, 86400.0, 86400.0)
    return RunResult(chosen, "http://127.0.0.1:1", tuple(figures), (), observations)


def test_the_simulated_load_matches_the_live_one() -> None:
    chosen = settings(users=10, rate=4.0, processes=2)
    cached = sim_settings_for(chosen, "cached")
    # one client per locust process (each has its own cache), the same calls per second
    assert (cached.clients, cached.workers_per_client, cached.rate) == (2, 1, 20.0)
    assert cached.duration_s == 86400 and cached.strategies == ("cached",)
    naive = sim_settings_for(chosen, "naive")
    assert (naive.clients, naive.workers_per_client, naive.rate) == (2, 5, 20.0)


def test_only_built_in_strategies_under_constant_load_are_simulated() -> None:
    assert why_not_simulated(settings(), "cached") is None
    own = str(why_not_simulated(settings(), "examples.own_client:factory"))
    assert "your own strategy is not simulated beside a run" in own
    assert "quotalab simulate --strategies examples.own_client:factory" in own
    spike = settings(scenario="spike")
    assert "spike scenario's load shape" in str(why_not_simulated(spike, "cached"))


def test_a_simulated_day_agrees_with_a_caching_clients_projection() -> None:
    chosen = settings()
    naive_times = tuple(i / 2 for i in range(24))
    days = simulate_alongside(live_result(chosen, {"naive": naive_times, "cached": (0.3,)}))
    cached = days.agreements["cached"]
    # one token at warm-up and one refresh 300 s before the 24 h token expires
    assert cached.simulated_tokens_per_day == 2.0 and cached.agrees
    naive = days.agreements["naive"]
    assert naive.simulated_tokens_per_day == 2 * 86400 and naive.agrees


def test_a_day_over_the_budget_is_left_out_and_says_why() -> None:
    # backoff's jittered retries play call by call; a wall clock racing ahead
    # makes the first progress report look hopelessly slow
    chosen = settings(strategies="backoff", users=10, rate=4.0)
    ticks = iter(range(0, 10_000, 5))
    result = live_result(chosen, {"backoff": tuple(i / 30 for i in range(360))})
    days = simulate_alongside(result, budget_s=10.0, wall=lambda: float(next(ticks)))
    assert days.agreements == {}
    assert "would take more than 10 s" in days.skipped["backoff"]
