"""The gate's pure core: bounds, baseline comparison and JUnit XML."""

from __future__ import annotations

import dataclasses
import tomllib
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from gate_samples import GOOD_THRESHOLDS, document, measured

from quotalab.errors import ConfigError, InputError
from quotalab.gate import (
    BOUND_KEYS,
    CheckResult,
    check_thresholds,
    compare_baseline,
    junit_xml,
    parse_figure_tolerance,
    parse_thresholds,
)
from quotalab.report import StrategyMeasurements
from quotalab.report.day_projection import Agreement, DayProjection


def thresholds(text: str):  # type: ignore[no-untyped-def]
    return parse_thresholds(tomllib.loads(text), "thresholds.toml")


def test_a_good_run_passes_every_bound() -> None:
    results = check_thresholds(document(cached_backoff=measured()), thresholds(GOOD_THRESHOLDS))
    assert [r.name for r in results] == [
        "max_token_requests_per_1k_calls",
        "max_throttled_ratio",
        "min_success_ratio",
        "max_p95_ms",
    ]
    assert all(r.passed for r in results)


@pytest.mark.parametrize(
    ("key", "bad", "figure_value"),
    [
        # token requests per 1k calls: 60 per 10,000 calls = 6 > 5
        ("max_token_requests_per_1k_calls", measured(token_requests=60), "6"),
        # throttled: 200 / (10,000 + 10) > 0.01
        ("max_throttled_ratio", measured(throttled_429=200), "0.02"),
        ("min_success_ratio", measured(api_ok=9_800), "0.98"),
        ("max_p95_ms", measured(p95_ms=300.0), "300"),
    ],
)
def test_each_violation_is_reported_with_figure_and_bound(
    key: str, bad: object, figure_value: str
) -> None:
    results = check_thresholds(document(cached_backoff=bad), thresholds(GOOD_THRESHOLDS))  # type: ignore[arg-type]
    failed = [r for r in results if not r.passed]
    assert [r.name for r in failed] == [key]
    bound = tomllib.loads(GOOD_THRESHOLDS)["strategies"]["cached+backoff"][key]
    assert failed[0].bound == bound
    assert f"= {figure_value}" in failed[0].message
    assert str(bound) in failed[0].message


ZERO_TOLERANCE = """
[strategies."cached+backoff"]
min_success_ratio = 1
max_throttled_ratio = 0
max_token_requests_per_1k_calls = 1
"""


def test_a_shortfall_below_the_reports_precision_still_breaks_a_zero_tolerance_bound() -> None:
    """1 failed call in 2 M, 1 throttled answer, 1.00001 token requests per 1k calls: rounded
    to 4 decimals the nearest way they read 1, 0 and 1, and passed bounds they break."""
    shortfall = measured(
        api_calls=2_000_000, api_ok=1_999_999, token_requests=2_000, throttled_429=1
    )
    shortfall = dataclasses.replace(shortfall, token_requests=2_001)
    results = check_thresholds(document(cached_backoff=shortfall), thresholds(ZERO_TOLERANCE))
    assert [r.name for r in results if not r.passed] == [
        "min_success_ratio",
        "max_throttled_ratio",
        "max_token_requests_per_1k_calls",
    ]
    exact = measured(api_calls=2_000_000, api_ok=2_000_000, token_requests=2_000)
    passed = check_thresholds(document(cached_backoff=exact), thresholds(ZERO_TOLERANCE))
    assert all(r.passed for r in passed)


def test_extra_bounds_on_tokens_and_quota_days() -> None:
    run = document(naive=measured(token_requests=10_000))
    # 10,000 tokens in 60 s -> 14.4 million a day; the quota lasts minutes.
    text = """
    [strategies.naive]
    max_tokens_per_day = 1000
    max_token_requests = 500
    min_days_until_quota_exhausted = 30
    max_p99_ms = 1000
    """
    results = {r.name: r for r in check_thresholds(run, thresholds(text))}
    assert not results["max_tokens_per_day"].passed
    assert not results["max_token_requests"].passed
    assert not results["min_days_until_quota_exhausted"].passed
    assert results["max_p99_ms"].passed


def test_a_strategy_that_never_takes_a_token_never_exhausts_the_quota() -> None:
    run = document(naive=measured(token_requests=0))
    text = "[strategies.naive]\nmin_days_until_quota_exhausted = 30\n"
    assert all(r.passed for r in check_thresholds(run, thresholds(text)))


def test_a_figure_that_was_not_measured_fails_its_bound() -> None:
    run = document(naive=measured(api_calls=0, api_ok=0))
    text = "[strategies.naive]\nmin_success_ratio = 0.9\n"
    [result] = check_thresholds(run, thresholds(text))
    assert not result.passed and "nothing was measured" in result.message


def test_a_strategy_missing_from_the_report_is_unusable_input() -> None:
    with pytest.raises(InputError, match="'cached\\+backoff' is not in the report"):
        check_thresholds(document(naive=measured()), thresholds(GOOD_THRESHOLDS))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[strategies]\n",
        "[strategies.naive]\n",
        "[strategies.naive]\nmax_tokens = 3\n",
        "[limits.naive]\nmax_p95_ms = 3\n",
        '[strategies.naive]\nmax_p95_ms = "fast"\n',
        "[strategies.naive]\nmax_p95_ms = true\n",
        "[strategies.naive]\nmax_p95_ms = -1\n",
        "[strategies.naive]\nmin_success_ratio = 1.5\n",
        "[strategies.naive]\nmax_p95_ms = nan\n",
        "strategies = 3\n",
    ],
)
def test_unusable_thresholds_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        thresholds(text)


def test_every_documented_key_is_accepted() -> None:
    body = "\n".join(f"{key} = 0.5" for key in BOUND_KEYS)
    parsed = thresholds(f"[strategies.naive]\n{body}\n")
    assert [b.key for b in parsed.bounds] == list(BOUND_KEYS)


def baseline_failures(
    now: object, then: object, tolerance: float = 0.1, **options: object
) -> set[str]:
    results = compare_baseline(document(s=now), document(s=then), tolerance, **options)  # type: ignore[arg-type]
    return {r.figure for r in results if not r.passed}


def test_baseline_equal_passes() -> None:
    assert baseline_failures(measured(), measured()) == set()


def test_more_token_requests_than_tolerance_is_a_regression() -> None:
    assert baseline_failures(measured(token_requests=12), measured(token_requests=10)) == {
        "token_requests_per_1k_calls"
    }
    # +10% is within a 10% tolerance.
    assert baseline_failures(measured(token_requests=11), measured(token_requests=10)) == set()


def test_lower_success_and_higher_latency_are_regressions() -> None:
    assert "success_ratio" in baseline_failures(measured(api_ok=8_000), measured())
    slower, before = measured(p95_ms=150.0), measured(p95_ms=100.0)
    assert baseline_failures(slower, before, compare_latency=True) == {"p95_ms", "p99_ms"}
    assert "throttled_ratio" in baseline_failures(measured(throttled_429=50), measured())


def test_latency_is_left_out_of_the_baseline_unless_asked() -> None:
    # Machine noise (p95 3 ms vs 6 ms) is no regression of the code.
    assert baseline_failures(measured(p95_ms=6.0), measured(p95_ms=3.0)) == set()
    results = compare_baseline(document(s=measured()), document(s=measured()), 0.1)
    assert {r.figure for r in results} == {
        "token_requests_per_1k_calls",
        "throttled_ratio",
        "success_ratio",
    }


def test_each_figure_can_have_its_own_tolerance() -> None:
    now, then = measured(token_requests=12, p95_ms=6.0), measured(token_requests=10, p95_ms=3.0)
    assert baseline_failures(now, then) == {"token_requests_per_1k_calls"}
    loose = {"token_requests_per_1k_calls": 0.25}
    assert baseline_failures(now, then, tolerances=loose) == set()
    # A tolerance for a latency figure asks for it: p95 may double, not triple.
    assert baseline_failures(now, then, tolerances={**loose, "p95_ms": 1.0}) == set()
    tripled = measured(token_requests=12, p95_ms=9.5)
    assert baseline_failures(tripled, then, tolerances={**loose, "p95_ms": 1.0}) == {"p95_ms"}
    # A strict per-figure tolerance tightens one figure only.
    assert baseline_failures(
        measured(api_ok=9_950), measured(), tolerances={"success_ratio": 0.001}
    ) == {"success_ratio"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95_ms", "expected FIGURE=TOLERANCE"),
        ("=0.5", "expected FIGURE=TOLERANCE"),
        ("p96_ms=0.5", "unknown figure 'p96_ms'"),
        ("p95_ms=fast", "is not a number"),
        ("p95_ms=-1", "finite number >= 0"),
        ("p95_ms=nan", "finite number >= 0"),
    ],
)
def test_bad_figure_tolerances_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_figure_tolerance(text)
    assert parse_figure_tolerance(" p95_ms = 0.5") == ("p95_ms", 0.5)


def test_improvements_pass_in_either_direction() -> None:
    better = measured(token_requests=2, p95_ms=50.0)
    worse = measured(token_requests=50, api_ok=9_000, throttled_429=40, p95_ms=200.0)
    assert baseline_failures(better, worse) == set()


def test_a_strategy_dropped_since_the_baseline_fails() -> None:
    results = compare_baseline(document(a=measured()), document(a=measured(), b=measured()), 0.1)
    failed = [r for r in results if not r.passed]
    assert [(r.strategy, r.name) for r in failed] == [("b", "baseline_present")]


def test_negative_tolerance_is_unusable() -> None:
    with pytest.raises(InputError):
        compare_baseline(document(a=measured()), document(a=measured()), -0.1)


def test_junit_has_one_testcase_per_check_and_failures_carry_messages() -> None:
    run = document(cached_backoff=measured(token_requests=60, p95_ms=400.0))
    results = check_thresholds(run, thresholds(GOOD_THRESHOLDS))
    root = ET.fromstring(junit_xml(results))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(results)
    assert suite.get("failures") == str(sum(not r.passed for r in results)) == "2"
    failures = {c.get("name"): c.find("failure") for c in cases}
    for result in results:
        failure = failures[result.name]
        if result.passed:
            assert failure is None
        else:
            assert failure is not None and failure.get("message") == result.message
    assert {c.get("classname") for c in cases} == {"quotalab.gate.cached+backoff"}


def test_tokens_issued_in_no_measured_time_are_not_never_exhausting_the_quota() -> None:
    # duration_s = 0: days_until_quota_exhausted is null, but tokens were taken.
    burnt = StrategyMeasurements(
        api_calls=10, api_ok=10, token_requests=10, tokens_issued=10, duration_s=0
    )
    run = document(naive=burnt)
    text = "[strategies.naive]\nmin_days_until_quota_exhausted = 30\n"
    [result] = check_thresholds(run, thresholds(text))
    assert not result.passed and "never" not in result.message


def test_a_quota_that_outlasted_the_month_is_a_figure_to_compare_against() -> None:
    """A baseline whose quota is never exhausted (days ``null``) against a change that
    exhausts it in a day is a regression, not "nothing to compare"; the other way an
    improvement, and never against never passes."""
    never, soon = measured(token_requests=0), measured(token_requests=10_000)
    tolerances = {"days_until_quota_exhausted": 0.0}

    def days(now: StrategyMeasurements, then: StrategyMeasurements) -> CheckResult:
        results = compare_baseline(document(s=now), document(s=then), 0.1, tolerances=tolerances)
        [result] = [r for r in results if r.figure == "days_until_quota_exhausted"]
        return result

    regressed = days(soon, never)
    assert not regressed.passed
    assert "vs baseline not within the month: lower than the baseline" in regressed.message
    assert days(never, soon).passed
    assert days(never, never).passed


def _trusting(trust: str) -> dict[str, Any]:
    """A run whose live projection (10 tokens a day, from one call per user: all warm-up)
    disagrees with its simulated day (43,200); the report says which to trust."""
    day = DayProjection("steady_state", 10.0, 10, 0, 86_400.0, None, None, "no refresh seen")
    simulated = Agreement(43_200.0, False, trust, "why")  # type: ignore[arg-type]
    return document(naive=dataclasses.replace(measured(), day=day, simulated=simulated))


def test_the_day_figures_are_those_of_the_day_the_report_trusts() -> None:
    """A report that says "trust the simulation" is gated on the simulated day: its
    live projection assumed what the simulation played (here: a client fetching per
    call, which a run of one call per user cannot tell from a cache)."""
    text = "[strategies.naive]\nmax_tokens_per_day = 1000\nmin_days_until_quota_exhausted = 30\n"
    results = {r.name: r for r in check_thresholds(_trusting("simulation"), thresholds(text))}
    assert not results["max_tokens_per_day"].passed
    assert results["max_tokens_per_day"].value == 43_200.0
    assert "(of the simulated day, which the report trusts) = 43200" in (
        results["max_tokens_per_day"].message
    )
    days = results["min_days_until_quota_exhausted"]
    assert not days.passed and days.value == pytest.approx(1000 / 43_200, abs=1e-4)
    assert all(r.passed for r in check_thresholds(_trusting("live"), thresholds(text)))
    assert all(r.passed for r in check_thresholds(_trusting("both"), thresholds(text)))


def test_reports_of_older_builds_without_the_newer_projection_fields_are_gated() -> None:
    """``quota_exhausted_within_month`` and ``simulated`` came later: a report without
    them validates, and its day figures are gated as written (a KeyError once)."""
    old = document(naive=measured(token_requests=0), cached=measured(token_requests=10_000))
    for strategy in old["strategies"].values():
        del strategy["projection"]["quota_exhausted_within_month"]
        del strategy["projection"]["simulated"]
    text = (
        "[strategies.naive]\nmax_tokens_per_day = 1000\nmin_days_until_quota_exhausted = 30\n"
        "[strategies.cached]\nmax_tokens_per_day = 1000\n"
    )
    results = {(r.strategy, r.name): r for r in check_thresholds(old, thresholds(text))}
    assert results["naive", "max_tokens_per_day"].passed  # no token taken
    assert results["naive", "min_days_until_quota_exhausted"].passed
    assert not results["cached", "max_tokens_per_day"].passed
    compared = compare_baseline(old, old, 0.1, tolerances={"tokens_per_day": 0.1})
    assert all(r.passed for r in compared)


def test_a_day_compared_with_a_baseline_trusting_the_other_kind_of_day_says_so() -> None:
    results = compare_baseline(
        _trusting("simulation"), _trusting("live"), 0.1, tolerances={"tokens_per_day": 0.1}
    )
    [day] = [r for r in results if r.figure == "tokens_per_day"]
    assert not day.passed  # 43,200 against the baseline's trusted 10
    assert "(the report's simulated day against the baseline's live day, each trusted)" in (
        day.message
    )
