"""The comparison table's columns, shared by the Markdown and terminal renderers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quotalab.report.projection_text import (
    count,
    days_to_quota,
    projection_note,
    quota_lasts,
    share,
    simulated_day,
)
from quotalab.report.values import QuotaPlan, Report, StrategyFigures
from quotalab.strategies.raised_calls import printable

__all__ = ["COLUMNS", "COMPACT_COLUMNS", "Column", "headline", "projection_note", "rows"]


def cell(value: float | int | None, digits: int = 1) -> str:
    """A figure as table text: thousands separators, ``-`` for no value."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def small(value: float | None) -> str:
    """A figure that may be well below 1 (days until the quota runs out): 3 significant digits."""
    if value is None:
        return "-"
    return f"{value:.3g}" if value < 1 else f"{value:,.1f}"


def percent(value: float | None) -> str:
    """A ratio as a percentage with two decimals."""
    return "-" if value is None else f"{value * 100:.2f}%"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its heading and how a strategy's figures become its text."""

    heading: str
    text: Callable[[StrategyFigures], str]


COLUMNS: tuple[Column, ...] = (
    Column("calls", lambda f: cell(f.calls)),
    Column("success", lambda f: percent(f.success_ratio)),
    Column("API requests", lambda f: cell(f.api_calls)),
    Column("token req", lambda f: cell(f.token_requests)),
    Column("tokens issued", lambda f: cell(f.tokens_issued)),
    Column("token req / 1k calls", lambda f: small(f.token_requests_per_1k_calls)),
    Column("429", lambda f: cell(f.throttled_429)),
    Column("403/99", lambda f: cell(f.forbidden_403_99)),
    Column("401/403", lambda f: cell(f.auth_failures_401_403)),
    Column("503", lambda f: cell(f.faults_503)),
    Column("p50 ms", lambda f: cell(f.p50_ms)),
    Column("p95 ms", lambda f: cell(f.p95_ms)),
    Column("p99 ms", lambda f: cell(f.p99_ms)),
    Column("tokens / day", lambda f: cell(f.projection.tokens_per_day)),
    Column("simulated / day", lambda f: simulated_day(f.projection)),
    Column("quota / month", lambda f: share(f.projection.quota_used_per_month)),
    Column("days to quota", lambda f: days_to_quota(f.projection)),
)

COMPACT_COLUMNS: tuple[Column, ...] = (
    Column("calls", lambda f: cell(f.calls)),
    Column("success", lambda f: percent(f.success_ratio)),
    Column("token req", lambda f: cell(f.token_requests)),
    Column("per 1k calls", lambda f: small(f.token_requests_per_1k_calls)),
    Column("throttled", lambda f: cell(f.throttled_429 + f.forbidden_403_99 + f.throttled_4xx)),
    Column("p95 ms", lambda f: cell(f.p95_ms)),
    Column("tokens/day", lambda f: count(f.projection.tokens_per_day)),
    Column("sim/day", lambda f: simulated_day(f.projection)),
    Column("quota lasts", lambda f: quota_lasts(f.projection)),
)
"""The terminal's narrower table: what fits in 100 columns; report.md has every column."""


def rows(report: Report, columns: tuple[Column, ...] = COLUMNS) -> list[tuple[str, list[str]]]:
    """``(strategy, cells)`` for each strategy, in the report's order."""
    return [
        (name, [c.text(figures) for c in columns]) for name, figures in report.strategies.items()
    ]


def failure_lines(report: Report) -> list[str]:
    """One line per strategy and reason its calls failed for, with the first message."""
    lines = []
    for name, figures in report.strategies.items():
        for failed in figures.failures:
            if failed.throttled == failed.calls:
                throttled = ", all throttled"
            else:
                throttled = f", {failed.throttled:,} throttled" if failed.throttled else ""
            first = f": {printable(failed.first_message)}" if failed.first_message else ""
            reason = printable(failed.reason)
            lines.append(f"{name}: {failed.calls:,} calls failed with {reason}{throttled}{first}")
    return lines


def headline(report: Report) -> str:
    """Mode, profile, scenario and plan in one line, for every renderer's title."""
    meta = report.meta
    return (
        f"quotalab {meta.version} · {meta.mode} · profile {meta.profile} · "
        f"scenario {meta.scenario} · {plan_text(report.plan)}"
    )


def plan_text(plan: QuotaPlan) -> str:
    """``plan auth0-free (1,000 M2M tokens/month)``, or that there is no quota."""
    if plan.monthly_m2m_tokens is None:
        return "no monthly token quota"
    return f"plan {plan.name} ({plan.monthly_m2m_tokens:,} M2M tokens/month)"
