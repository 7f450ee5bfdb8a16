"""The figures a gate can bound or compare, read from a validated report.json document."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from quotalab.report.figures import quota_days, rounded_worse

Worse = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Figure:
    """A named figure of one strategy, which direction is worse, and what ``null`` means.

    ``null_is_unbounded``: a missing value means "never" (no tokens issued, so the
    quota is never exhausted) rather than "no evidence".
    """

    name: str
    read: Callable[[Mapping[str, Any]], float | None]
    worse: Worse
    is_ratio: bool = False
    null_is_unbounded: bool = False


def _top(key: str) -> Callable[[Mapping[str, Any]], float | None]:
    return lambda strategy: strategy[key]


def _nested(outer: str, inner: str) -> Callable[[Mapping[str, Any]], float | None]:
    return lambda strategy: strategy[outer][inner]


def trusts_simulation(strategy: Mapping[str, Any]) -> bool:
    """Whether the report says to trust the simulated day over the live projection
    (the live run saw no refresh and assumed one, or delivered less load than asked)."""
    simulated = strategy.get("projection", {}).get("simulated")
    return isinstance(simulated, Mapping) and simulated.get("trust") == "simulation"


def trusted_day(strategy: Mapping[str, Any]) -> tuple[float | None, float | None, bool | None]:
    """``(tokens_per_day, days_until_quota_exhausted, quota_exhausted_within_month)`` of
    the day the report trusts: the simulated one where it says so, else the projection."""
    projection = strategy.get("projection", {})  # reports of older builds lack some fields
    if not trusts_simulation(strategy):
        return (
            projection.get("tokens_per_day"),
            projection.get("days_until_quota_exhausted"),
            projection.get("quota_exhausted_within_month"),
        )
    per_day = projection["simulated"]["tokens_per_day"]
    within, days = quota_days(per_day, projection.get("monthly_quota"))
    return per_day, rounded_worse(days, "lower"), within


FIGURES: dict[str, Figure] = {
    figure.name: figure
    for figure in (
        Figure("token_requests_per_1k_calls", _top("token_requests_per_1k_calls"), "higher"),
        Figure("token_requests", _top("token_requests"), "higher"),
        Figure("throttled_ratio", _top("throttled_ratio"), "higher", is_ratio=True),
        Figure("success_ratio", _top("success_ratio"), "lower", is_ratio=True),
        Figure("p95_ms", _nested("latency_ms", "p95"), "higher"),
        Figure("p99_ms", _nested("latency_ms", "p99"), "higher"),
        Figure("tokens_per_day", lambda strategy: trusted_day(strategy)[0], "higher"),
        Figure(
            "days_until_quota_exhausted",
            lambda strategy: trusted_day(strategy)[1],
            "lower",
            null_is_unbounded=True,
        ),
    )
}

DAY_FIGURES: tuple[str, ...] = ("tokens_per_day", "days_until_quota_exhausted")
"""Figures of the projected day, read from the simulated day where the report trusts it."""

# Figures a baseline comparison looks at: the ones a regression shows up in.
# Latency is left out by default: it moves with the machine, not the code.
BASELINE_FIGURES: tuple[str, ...] = (
    "token_requests_per_1k_calls",
    "throttled_ratio",
    "success_ratio",
)

# Compared against a baseline only when asked (--compare-latency, or a tolerance for one).
LATENCY_FIGURES: tuple[str, ...] = ("p95_ms", "p99_ms")


def show(value: float | None) -> str:
    """A figure in a message: up to 4 decimals, no float noise."""
    if value is None:
        return "none"
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
