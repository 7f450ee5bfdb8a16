"""Each projection rule of ``day_projection``, pinned on hand-made timelines."""

from __future__ import annotations

import pytest

from quotalab.report.day_projection import (
    DayProjection,
    IssuanceObservation,
    bursts,
    compare_with_simulation,
    project_day,
    warmup_count,
)

DAY = 86_400


def observe(
    times: list[float],
    *,
    duration_s: float = 12.0,
    api_calls: int = 480,
    run_lifetime_s: float | None = 86_400,
    real_lifetime_s: float | None = 86_400,
    callers: int | None = None,
) -> DayProjection:
    return project_day(
        IssuanceObservation(
            duration_s, tuple(times), api_calls, run_lifetime_s, real_lifetime_s, callers
        )
    )


def test_warmup_is_the_burst_around_the_first_token() -> None:
    # rule 1: a cache's first token and the herd fetched with it
    assert warmup_count([3.0, 3.01, 3.4, 3.9, 6.0]) == 4
    assert warmup_count([]) == 0
    # no cache fill needs more than one token per caller
    assert warmup_count([3.0, 3.01, 3.4, 3.9, 6.0], callers=2) == 2
    assert bursts([0.0, 0.2, 30.0, 30.5, 61.0]) == [(0.0, 2), (30.0, 2), (61.0, 1)]


def test_a_client_paying_per_call_keeps_the_linear_figure() -> None:
    # rule 2: naive, 38 tokens a second for 12 s: warm-up is indistinguishable
    times = [i / 38 for i in range(456)]
    day = observe(times, api_calls=460)
    assert day.method == "linear"
    assert day.tokens_per_day == pytest.approx(456 * DAY / 12)
    assert day.warmup_tokens == 39 and day.steady_tokens == 417


def test_a_client_paying_per_call_in_a_run_barely_longer_than_its_warmup_stays_linear() -> None:
    # 2 s of naive against a 5/s bucket, every token inside the first second: with
    # 6 callers, only 6 of them can be a warm-up
    times = [i / 12 for i in range(12)]
    day = observe(times, duration_s=2.0, api_calls=12, callers=6)
    assert day.method == "linear" and day.warmup_tokens == 6
    assert day.tokens_per_day == pytest.approx(12 * DAY / 2)


def test_a_run_in_which_each_user_called_once_cannot_tell_a_cache_and_stays_linear() -> None:
    # 10 users, one call each at --rate 0.05: 10 tokens, all within the warm-up.
    # As a cache's first tokens they would be 10 a day; as naive's, 72,000. No call
    # went without a token of its own, so nothing shows a cache: the worse, with why.
    times = [i / 20 for i in range(10)]
    day = observe(times, api_calls=10, callers=10)
    assert day.method == "linear" and day.warmup_tokens == 10
    assert day.tokens_per_day == pytest.approx(10 * DAY / 12)
    assert "cannot tell a cache from fetching per call" in day.note
    # one call made with a cached token is the evidence a cache needs
    assert observe(times, api_calls=11, callers=10).method == "steady_state"


def test_fetching_per_call_with_short_lived_tokens_says_it_may_be_the_lifetime() -> None:
    # the article's client (60 s margin) in the expiry-herd scenario's 6 s tokens fetches
    # per call; at the profile's 24 h it caches: the linear day says it may overstate
    times = [i / 38 for i in range(456)]
    short = observe(times, api_calls=460, run_lifetime_s=6.0)
    assert short.method == "linear" and "tokens lived 6 s in this run" in short.note
    assert "may overstate" in short.note
    assert "may overstate" not in observe(times, api_calls=460).note


def test_a_cache_in_a_run_shorter_than_a_lifetime_refreshes_once_per_profile_lifetime() -> None:
    # rule 3: one token in 12 s is one token a day at 24 h tokens, not 7,200
    day = observe([0.4])
    assert day.method == "steady_state"
    assert day.tokens_per_day == pytest.approx(1.0)
    assert day.refresh_interval_s == DAY and "the profile issues tokens with" in day.note


def test_a_warmup_herd_repeats_at_every_refresh() -> None:
    day = observe([0.0, 0.01, 0.02], real_lifetime_s=3600)
    assert day.tokens_per_day == pytest.approx(3 * 24)


def test_tokens_after_warmup_in_a_caching_client_are_extrapolated_on_top() -> None:
    # one re-fetch (e.g. after a 401) in 12 s, far fewer than one per ten calls
    day = observe([0.0, 6.0], duration_s=12)
    assert day.method == "steady_state"
    assert day.tokens_per_day == pytest.approx(1 + DAY / 12)


def test_tokens_that_never_expire_cost_one_fetch() -> None:
    day = observe([0.0], run_lifetime_s=None, real_lifetime_s=None)
    assert day.tokens_per_day == 0.0 and "never expire" in day.note


def test_short_lived_tokens_measure_the_cadence_and_scale_it_to_the_real_lifetime() -> None:
    # rule 4: 60 s tokens, refresh 30 s before expiry (every 30 s) over 125 s
    times = [0.0, 30.0, 60.0, 90.0, 120.0]
    day = observe(times, duration_s=125, run_lifetime_s=60)
    assert day.method == "refresh_cadence"
    assert day.observed_refresh_interval_s == pytest.approx(30)
    assert day.margin_s == pytest.approx(30)
    assert day.refresh_interval_s == pytest.approx(DAY - 30)
    assert day.tokens_per_day == pytest.approx(DAY / (DAY - 30))
    # One lifetime cannot tell this margin from a cache kept 30 s whatever the token:
    # the note says the projection assumes the refreshes follow the lifetime.
    assert "if its refreshes follow the token's lifetime" in day.note
    assert "run again with another --token-lifetime" in day.note


def test_an_expiry_herd_is_measured_per_refresh() -> None:
    # no single flight: 10 callers fetch at every expiry (margin 0)
    herd = [t + i * 0.01 for t in (60.0, 120.0) for i in range(10)]
    day = observe([0.0, *herd], duration_s=130, run_lifetime_s=60)
    assert day.method == "refresh_cadence"
    assert day.margin_s == pytest.approx(0)
    assert day.tokens_per_day == pytest.approx(10.0)


def test_a_client_that_never_refreshed_falls_back_to_one_per_lifetime() -> None:
    day = observe([0.0], duration_s=130, run_lifetime_s=60)
    assert day.method == "steady_state" and "no refresh seen" in day.note
    assert day.tokens_per_day == pytest.approx(1.0)


def test_no_token_is_no_projection() -> None:
    assert observe([], api_calls=0).tokens_per_day == 0.0


def test_simulation_and_live_agree_within_the_stated_tolerance() -> None:
    live = observe([0.4])
    agreement = compare_with_simulation(live, 2.0, caches=1, delivered_share=1.0)
    assert agreement.agrees and agreement.trust == "both"


def test_an_assumed_lifetime_defers_to_the_simulation() -> None:
    live = observe([0.4])
    agreement = compare_with_simulation(live, 50.0, caches=1, delivered_share=1.0)
    assert not agreement.agrees and agreement.trust == "simulation"
    assert "assumed" in agreement.reason


def test_a_live_run_short_of_load_defers_to_the_simulation() -> None:
    live = observe([i / 20 for i in range(240)], api_calls=240)
    agreement = compare_with_simulation(live, 2_592_000, caches=1, delivered_share=0.5)
    assert agreement.trust == "simulation" and "50%" in agreement.reason
    # A shortfall has more causes than the load generator's CPU: the reason names them.
    assert "short of CPU, or calls held by waits, timeouts or errors" in agreement.reason


def test_a_measured_live_figure_is_trusted_over_a_disagreeing_simulation() -> None:
    live = observe([i / 30 for i in range(360)], api_calls=480)
    agreement = compare_with_simulation(live, 1_000.0, caches=1, delivered_share=1.0)
    assert agreement.trust == "live" and not agreement.agrees
