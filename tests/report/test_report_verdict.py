"""The one-line verdict, including the cases with nothing to compare."""

from __future__ import annotations

from report_samples import META, cached, naive

from quotalab.report import StrategyMeasurements, build_report


def calls(api_calls: int, token_requests: int) -> StrategyMeasurements:
    return StrategyMeasurements(
        api_calls=api_calls,
        api_ok=api_calls,
        token_requests=token_requests,
        tokens_issued=token_requests,
        duration_s=10,
    )


def test_names_the_worst_and_best_and_their_ratio() -> None:
    worst, best = naive(), cached()
    verdict = build_report(META, {"cached+backoff": best, "naive": worst}).verdict
    times = (worst.token_requests / worst.api_calls) / (best.token_requests / best.api_calls)
    assert verdict.startswith(f"naive made {times:.1f}x the token requests of cached+backoff")


def test_no_strategies() -> None:
    assert "No strategies" in build_report(META, {}).verdict


def test_no_api_calls_anywhere() -> None:
    verdict = build_report(META, {"a": calls(0, 0), "b": calls(0, 3)}).verdict
    assert verdict == "No strategy measured anything, so none can be compared."


def test_single_comparable_strategy() -> None:
    verdict = build_report(META, {"a": calls(0, 0), "solo": calls(1000, 7)}).verdict
    assert verdict.startswith("Only solo was measured: 7.0 token requests")


def test_calls_that_sent_no_counted_request_are_not_compared() -> None:
    """0 token requests per 1,000 calls of a client that never reached the server is no
    figure to compare (``quotalab.evidence``), not the best of the run."""
    silent = StrategyMeasurements(
        api_calls=0, api_ok=0, token_requests=0, tokens_issued=0, duration_s=10, calls=50,
        calls_ok=0,
    )  # fmt: skip
    verdict = build_report(META, {"silent": silent, "naive": calls(100, 100)}).verdict
    assert verdict == "Only naive was measured: 1,000 token requests per 1,000 calls."


def test_best_with_no_token_requests_is_not_divided_by() -> None:
    verdict = build_report(META, {"greedy": calls(100, 50), "free": calls(100, 0)}).verdict
    assert verdict == "greedy made 500.0 token requests per 1,000 API calls; free made none."


def test_equal_strategies() -> None:
    verdict = build_report(META, {"a": calls(100, 1), "b": calls(200, 2)}).verdict
    assert verdict.startswith("All strategies made the same 10.0")


def test_ties_break_by_name_whatever_the_input_order() -> None:
    one = {"b": calls(100, 5), "a": calls(100, 5), "c": calls(100, 1)}
    two = {"c": calls(100, 1), "a": calls(100, 5), "b": calls(100, 5)}
    assert build_report(META, one).verdict == build_report(META, two).verdict
    assert build_report(META, one).verdict.startswith("a made 5.0x the token requests of c")


def test_naive_against_cached_backoff_when_both_ran_even_if_another_is_worse() -> None:
    figures = {
        "naive": calls(1000, 1000),
        "backoff": calls(1000, 2500),
        "cached": calls(1000, 1),
        "cached+backoff": calls(1000, 2),
    }
    verdict = build_report(META, figures).verdict
    assert verdict.startswith("naive made 500.0x the token requests of cached+backoff")


def test_without_the_headline_pair_the_extremes_are_compared() -> None:
    figures = {"backoff": calls(1000, 2500), "cached": calls(1000, 1), "naive": calls(1000, 1000)}
    verdict = build_report(META, figures).verdict
    assert verdict.startswith("backoff made 2,500x the token requests of cached")


def test_figures_below_one_keep_three_significant_digits() -> None:
    figures = {"naive": calls(1_000_000, 1_000_000), "cached+backoff": calls(1_000_000, 24)}
    verdict = build_report(META, figures).verdict
    assert verdict.endswith("(1,000 vs 0.024).")


def test_headline_pair_tied_does_not_claim_every_strategy_tied() -> None:
    runs = {"naive": calls(100, 1), "cached+backoff": calls(100, 1), "article": calls(100, 50)}
    verdict = build_report(META, runs).verdict
    assert not verdict.startswith("All strategies")
    assert "naive" in verdict and "cached+backoff" in verdict
