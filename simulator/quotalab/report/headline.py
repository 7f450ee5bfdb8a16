"""The one-line verdict: how many times the token requests of the best strategy
the worst one made, per 1,000 API calls (so runs of different lengths compare)."""

from __future__ import annotations

from collections.abc import Mapping

from quotalab.evidence import lack_of_evidence
from quotalab.report.values import StrategyFigures


def _number(value: float) -> str:
    """A figure for prose: no trailing ``.0`` noise beyond one decimal."""
    if 0 < value < 1:
        return f"{value:.3g}"  # a caching client over a day: 0.0238, not 0.0
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


HEADLINE_PAIR = ("naive", "cached+backoff")
"""When both ran, the verdict compares these: the client teams ship first and
the one quotalab recommends, whichever strategy happens to be worst or best."""


def _measured(figures: StrategyFigures) -> bool:
    """Whether ``figures`` are evidence of anything (``lack_of_evidence`` finds nothing)."""
    return (
        lack_of_evidence(
            figures.calls,
            figures.calls_ok,
            figures.api_calls,
            figures.api_ok,
            figures.token_requests,
        )
        is None
    )


def verdict_for(strategies: Mapping[str, StrategyFigures]) -> str:
    """Compare naive with cached+backoff, or else the strategies with the most
    and the fewest token requests per 1k calls.

    Ties break by name so the sentence is deterministic; strategies whose figures
    are no evidence (``quotalab.evidence``: no call, or no request the server
    counted) cannot be compared and are left out.
    """
    if not strategies:
        return "No strategies were measured."
    rated = sorted(
        (figures.token_requests_per_1k_calls, name)
        for name, figures in strategies.items()
        if figures.token_requests_per_1k_calls is not None and _measured(figures)
    )
    if not rated:
        return "No strategy measured anything, so none can be compared."
    if len(rated) == 1:
        value, name = rated[0]
        return f"Only {name} was measured: {_number(value)} token requests per 1,000 calls."
    by_name = {name: value for value, name in rated}
    if all(name in by_name for name in HEADLINE_PAIR):
        worst, best = HEADLINE_PAIR
        worst_value, best_value = by_name[worst], by_name[best]
    else:
        best_value, best = rated[0]
        worst_value, worst = min(rated, key=lambda item: (-item[0], item[1]))
    if worst_value == best_value:
        same = f"{_number(best_value)} token requests per 1,000 calls."
        if any(value != best_value for value, _ in rated):
            return f"{worst} and {best} made the same {same}"
        return f"All strategies made the same {same}"
    if best_value == 0:
        return (
            f"{worst} made {_number(worst_value)} token requests per 1,000 API calls; "
            f"{best} made none."
        )
    times = worst_value / best_value
    return (
        f"{worst} made {_number(times)}x the token requests of {best} per 1,000 API calls "
        f"({_number(worst_value)} vs {_number(best_value)})."
    )
