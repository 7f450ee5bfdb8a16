"""Derived figures, checked against their definitions computed from the inputs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_samples import META, cached, naive

from quotalab.errors import InputError
from quotalab.report import (
    QuotaPlan,
    StrategyMeasurements,
    TimeSeries,
    build_report,
)
from quotalab.report.figures import rounded_worse


def nearest_rank(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    return ordered[math.ceil(percent / 100 * len(ordered)) - 1]


def test_counts_ratios_and_percentiles_follow_their_definitions() -> None:
    measured = naive()
    figures = build_report(META, {"naive": measured}).strategies["naive"]
    assert figures.token_requests_per_1k_calls == pytest.approx(
        measured.token_requests / measured.api_calls * 1000
    )
    assert figures.success_ratio == pytest.approx(measured.api_ok / measured.api_calls, abs=1e-4)
    throttled = measured.throttled_429 + measured.forbidden_403_99
    assert figures.throttled_ratio == pytest.approx(
        throttled / (measured.api_calls + measured.token_requests), abs=1e-4
    )
    samples = list(measured.latency_samples_ms)
    assert figures.p50_ms == nearest_rank(samples, 50)
    assert figures.p95_ms == nearest_rank(samples, 95)
    assert figures.p99_ms == nearest_rank(samples, 99)
    assert figures.throttled_429 == measured.throttled_429
    assert figures.tokens_issued == measured.tokens_issued


@given(
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.sampled_from(["higher", "lower"]),
)
def test_figures_are_rounded_towards_their_worse_side(value: float, worse: str) -> None:
    """Up to a billion (14 significant digits hold 4 decimals), within a step, and never
    on the better side beyond float noise (1e-13 of the figure)."""
    shown = rounded_worse(value, worse)
    assert shown is not None
    assert abs(shown - value) < 1.0001e-4
    noise = 1e-13 * max(1.0, value)
    assert (shown >= value - noise) if worse == "higher" else (shown <= value + noise)
    assert rounded_worse(shown, worse) == shown  # a figure at the precision stays put


def test_a_figure_on_the_precision_stays_there_whatever_the_float_arithmetic() -> None:
    """41 token requests in 10,000 calls are 4.1 per 1,000, though 41 / 10_000 * 1000 is
    4.1000000000000005 in floats: rounded up a step, a gate bound of 4.1 would fail."""
    measured = StrategyMeasurements(
        api_calls=10_000, api_ok=10_000, token_requests=41, tokens_issued=31, duration_s=60.0
    )
    figures = build_report(META, {"x": measured}).strategies["x"]
    assert figures.token_requests_per_1k_calls == 4.1
    assert figures.projection.tokens_per_day == 44_640.0  # 31 / 60 * 86_400
    assert rounded_worse(0.1 + 0.2, "higher") == 0.3


def test_calls_attempted_are_the_denominator_when_a_producer_knows_them() -> None:
    # naive: 450 calls attempted, 89 died on a throttled token request before the API
    measured = StrategyMeasurements(
        api_calls=361,
        api_ok=361,
        token_requests=450,
        tokens_issued=361,
        duration_s=10,
        throttled_429=89,
        calls=450,
        calls_ok=361,
    )
    figures = build_report(META, {"naive": measured}).strategies["naive"]
    assert figures.calls == 450 and figures.calls_ok == 361
    assert figures.success_ratio == pytest.approx(361 / 450, abs=1e-4)
    assert figures.token_requests_per_1k_calls == pytest.approx(1000.0)


def test_precomputed_percentiles_are_taken_as_given() -> None:
    measured = cached()
    figures = build_report(META, {"c": measured}).strategies["c"]
    assert measured.latency_percentiles is not None
    assert figures.p95_ms == measured.latency_percentiles.p95_ms
    assert figures.p99_ms == measured.latency_percentiles.p99_ms


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=200))
def test_a_histogram_gives_the_percentiles_of_its_samples(samples: list[int]) -> None:
    histogram: dict[float, int] = {}
    for value in samples:
        histogram[float(value)] = histogram.get(float(value), 0) + 1
    base = StrategyMeasurements(
        api_calls=1, api_ok=1, token_requests=1, tokens_issued=1, duration_s=1
    )
    from_hist = StrategyMeasurements(
        api_calls=1,
        api_ok=1,
        token_requests=1,
        tokens_issued=1,
        duration_s=1,
        latency_histogram=histogram,
    )
    from_samples = StrategyMeasurements(
        api_calls=1,
        api_ok=1,
        token_requests=1,
        tokens_issued=1,
        duration_s=1,
        latency_samples_ms=tuple(float(v) for v in samples),
    )
    report = build_report(META, {"h": from_hist, "s": from_samples, "none": base})
    hist, listed = report.strategies["h"], report.strategies["s"]
    assert (hist.p50_ms, hist.p95_ms, hist.p99_ms) == (listed.p50_ms, listed.p95_ms, listed.p99_ms)
    assert listed.p95_ms == nearest_rank([float(v) for v in samples], 95)
    assert report.strategies["none"].p95_ms is None


def test_projection_extrapolates_tokens_issued_against_the_plan() -> None:
    measured = naive()
    plan = QuotaPlan(name="custom", monthly_m2m_tokens=5000)
    projection = build_report(META, {"n": measured}, plan).strategies["n"].projection
    per_day = measured.tokens_issued / measured.duration_s * 86400
    assert projection.basis == "tokens_issued"
    assert projection.tokens_per_day == pytest.approx(per_day)
    assert projection.tokens_per_month == pytest.approx(per_day * 30)
    assert projection.monthly_quota == 5000
    assert projection.quota_used_per_month == pytest.approx(per_day * 30 / 5000, abs=1e-4)
    assert projection.days_until_quota_exhausted == pytest.approx(5000 / per_day, abs=1e-4)


def test_default_plan_is_auth0_free_1000_tokens() -> None:
    report = build_report(META, {"c": cached()})
    assert report.plan.monthly_m2m_tokens == 1000
    assert report.strategies["c"].projection.monthly_quota == 1000


def test_nothing_measured_gives_no_figures_instead_of_dividing_by_zero() -> None:
    empty = StrategyMeasurements(
        api_calls=0, api_ok=0, token_requests=0, tokens_issued=0, duration_s=0
    )
    figures = build_report(META, {"e": empty}).strategies["e"]
    assert figures.token_requests_per_1k_calls is None
    assert figures.success_ratio is None
    assert figures.throttled_ratio is None
    assert figures.p50_ms is None
    assert figures.projection.tokens_per_day is None
    assert figures.projection.days_until_quota_exhausted is None
    assert figures.series.token_requests_per_s == ()


def test_no_tokens_issued_means_the_quota_is_never_exhausted() -> None:
    measured = StrategyMeasurements(
        api_calls=10, api_ok=10, token_requests=0, tokens_issued=0, duration_s=30
    )
    projection = build_report(META, {"x": measured}).strategies["x"].projection
    assert projection.tokens_per_day == 0
    assert projection.days_until_quota_exhausted is None


def test_series_counts_become_rates_per_second() -> None:
    measured = naive()
    assert measured.series is not None
    series = build_report(META, {"n": measured}).strategies["n"].series
    bucket = measured.series.bucket_s
    assert series.bucket_s == bucket
    assert series.token_requests_per_s == tuple(c / bucket for c in measured.series.token_requests)
    assert series.throttled_per_s == tuple(c / bucket for c in measured.series.throttled)
    assert series.api_ok_per_s == tuple(c / bucket for c in measured.series.api_ok)


@pytest.mark.parametrize(
    "measured",
    [
        StrategyMeasurements(
            api_calls=1, api_ok=2, token_requests=0, tokens_issued=0, duration_s=1
        ),
        StrategyMeasurements(
            api_calls=1, api_ok=1, token_requests=1, tokens_issued=2, duration_s=1
        ),
        StrategyMeasurements(
            api_calls=-1, api_ok=0, token_requests=0, tokens_issued=0, duration_s=1
        ),
        StrategyMeasurements(
            api_calls=1, api_ok=1, token_requests=1, tokens_issued=1, duration_s=-1
        ),
        StrategyMeasurements(
            api_calls=1,
            api_ok=1,
            token_requests=1,
            tokens_issued=1,
            duration_s=1,
            series=TimeSeries(1.0, (1, 2), (0,), (1, 1)),
        ),
        StrategyMeasurements(
            api_calls=1,
            api_ok=1,
            token_requests=1,
            tokens_issued=1,
            duration_s=1,
            series=TimeSeries(0.0, (1,), (0,), (1,)),
        ),
        StrategyMeasurements(
            api_calls=1, api_ok=1, token_requests=1, tokens_issued=1, duration_s=1, calls=2
        ),
        StrategyMeasurements(
            api_calls=1,
            api_ok=1,
            token_requests=1,
            tokens_issued=1,
            duration_s=1,
            calls=1,
            calls_ok=2,
        ),
    ],
)
def test_impossible_measurements_are_refused(measured: StrategyMeasurements) -> None:
    with pytest.raises(InputError):
        build_report(META, {"bad": measured})
