"""Days to quota say what they mean; the gate reads the honest figure."""

from __future__ import annotations

import pytest

from quotalab.gate import check_thresholds, parse_thresholds
from quotalab.report import QuotaPlan, RunMeta, StrategyMeasurements, build_report, to_document
from quotalab.report.day_projection import IssuanceObservation, project_day
from quotalab.report.figures import project

META = RunMeta(mode="live", profile="auth0", scenario="steady", generated_at="2026-01-01T00:00:00Z")
FREE = QuotaPlan()


def test_a_month_below_the_quota_is_not_exhausted_within_the_month() -> None:
    projection = project(
        1, 12.0, FREE, project_day(IssuanceObservation(12.0, (0.5,), 480, 86400, 86400))
    )
    assert projection.tokens_per_day == 1.0
    assert projection.quota_used_per_month == pytest.approx(0.03)
    assert projection.days_until_quota_exhausted is None
    assert projection.quota_exhausted_within_month is False
    assert projection.method == "steady_state"


def test_a_month_over_the_quota_gives_the_days_it_lasts() -> None:
    projection = project(460, 12.0, FREE)
    assert projection.quota_exhausted_within_month is True
    assert projection.days_until_quota_exhausted == pytest.approx(1000 / (460 * 7200), abs=1e-4)


def test_the_plan_sets_the_quota() -> None:
    # 100 tokens a day: 3,000 a month exhaust the free plan, not a 5,000 one
    assert project(100, 86_400.0, FREE).quota_exhausted_within_month is True
    paid = project(100, 86_400.0, QuotaPlan("auth0-paid", 5_000))
    assert paid.quota_exhausted_within_month is False and paid.quota_used_per_month == 0.6


def _gate(measured: StrategyMeasurements, key: str) -> bool:
    document = to_document(build_report(META, {"cached": measured}))
    bounds = parse_thresholds({"strategies": {"cached": {key: 30}}}, "t.toml")
    [result] = check_thresholds(document, bounds)
    return result.passed


def test_the_gate_reads_the_honest_days() -> None:
    day = project_day(IssuanceObservation(12.0, (0.5,), 480, 86400, 86400))
    cached = StrategyMeasurements(
        api_calls=480, api_ok=480, token_requests=1, tokens_issued=1, duration_s=12.0, day=day
    )
    assert _gate(cached, "min_days_until_quota_exhausted")
    linear = StrategyMeasurements(
        api_calls=480, api_ok=480, token_requests=1, tokens_issued=1, duration_s=12.0
    )
    # without the day rule, 7,200 tokens a day would exhaust the quota in 0.14 days
    assert not _gate(linear, "min_days_until_quota_exhausted")
