"""Days to quota say what they mean; the gate reads the honest figure."""

from __future__ import annotations

import dataclasses

import pytest

from quotalab.gate import check_thresholds, parse_thresholds
from quotalab.profiles import load_config
from quotalab.report import (
    QuotaPlan,
    RunMeta,
    StrategyMeasurements,
    build_report,
    to_document,
    validate_document,
)
from quotalab.report.day_projection import IssuanceObservation, project_day
from quotalab.report.figures import project
from quotalab.report.projection_text import days_to_quota
from quotalab.report.quota_plans import quota_plan
from quotalab.report.table import headline
from quotalab.report.values import NO_QUOTA

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


def test_a_profile_without_a_quota_projects_no_days_and_says_so() -> None:
    assert quota_plan(load_config("okta", None), "okta", None) is NO_QUOTA
    assert quota_plan(load_config("auth0", None), "auth0", None) == FREE
    projection = project(460, 12.0, NO_QUOTA)
    assert projection.tokens_per_day == 460 * 7200
    assert projection.monthly_quota is None and projection.quota_used_per_month is None
    assert projection.days_until_quota_exhausted is None
    assert days_to_quota(projection) == "no quota"
    measured = StrategyMeasurements(
        api_calls=460, api_ok=460, token_requests=460, tokens_issued=460, duration_s=12.0
    )
    okta = dataclasses.replace(META, profile="okta")
    report = build_report(okta, {"naive": measured}, NO_QUOTA)
    assert "no monthly token quota" in headline(report) and "auth0" not in headline(report)
    document = to_document(report)
    assert document["meta"]["plan"]["monthly_m2m_tokens"] is None
    validate_document(document)  # the schema accepts a report without a quota


def test_the_gate_quota_bound_holds_where_there_is_no_quota() -> None:
    measured = StrategyMeasurements(
        api_calls=460, api_ok=460, token_requests=460, tokens_issued=460, duration_s=12.0
    )
    document = to_document(build_report(META, {"naive": measured}, NO_QUOTA))
    bounds = parse_thresholds(
        {"strategies": {"naive": {"min_days_until_quota_exhausted": 30}}}, "t.toml"
    )
    [result] = check_thresholds(document, bounds)
    assert result.passed
