"""The projection in words: days to quota, the simulated day, and how each day was made."""

from __future__ import annotations

from quotalab.report.day_projection import AT_STEADY_STATE, NO_TOKEN
from quotalab.report.figures import LINEAR_NOTE, quota_days
from quotalab.report.values import Projection, Report


def share(value: float | None) -> str:
    """A share of the quota, readable from 0.01 % to 1,000,000 %."""
    if value is None:
        return "-"
    percent = value * 100
    return f"{percent:.2g}%" if percent < 10 else f"{percent:,.0f}%"


def days_to_quota(projection: Projection) -> str:
    """Days until the month's quota is gone, or that it is not gone within the month.

    The share of the quota a month uses stands in its own column next to it.
    """
    if projection.monthly_quota is None:
        return "no quota"
    if projection.days_until_quota_exhausted is not None:
        days = projection.days_until_quota_exhausted
        return f"{days:.3g}" if days < 1 else f"{days:,.1f}"
    if projection.quota_exhausted_within_month is False:
        return "not within the month"
    return "-"


def quota_lasts(projection: Projection) -> str:
    """The terminal's short form: ``the month``, or the days the quota lasts."""
    if projection.monthly_quota is None:
        return "no quota"
    within, days = projection.quota_exhausted_within_month, projection.days_until_quota_exhausted
    simulated = projection.simulated
    mark = ""
    if simulated is not None and simulated.trust == "simulation":  # the day the report trusts
        within, days = quota_days(simulated.simulated_tokens_per_day, projection.monthly_quota)
        mark = " (sim)"
    if days is not None:
        return (f"{days:.3g} d" if days < 1 else f"{days:,.1f} d") + mark
    return "the month" + mark if within is False else "-"


def count(value: float | None) -> str:
    """A count that may run to millions, short enough for a narrow column: ``2.58M``."""
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:,.3g}M"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def simulated_day(projection: Projection) -> str:
    """The simulated day's tokens, marked when it disagrees with the live projection."""
    simulated = projection.simulated
    if simulated is None:
        return "-"
    text = count(simulated.simulated_tokens_per_day)
    return text if simulated.agrees else f"{text} (!)"


def projection_note(report: Report) -> str:
    """How the days were projected, against which plan."""
    methods = {f.projection.method for f in report.strategies.values()}
    quota = report.plan.monthly_m2m_tokens
    note = (
        f"Tokens per day and month (30 days) against the plan's {quota:,} M2M tokens per month"
        if quota is not None
        else f"Tokens per day and month (30 days); profile {report.meta.profile} "
        "publishes no monthly token quota"
    )
    if methods <= {"linear"}:
        note += ": tokens issued over the run, extrapolated linearly."
        shortest = min((f.duration_s for f in report.strategies.values()), default=0.0)
        if 0 < shortest < 86400:
            note += (
                f" This run lasted {shortest:,.0f} s: clients that cache tokens for longer than "
                "that are overstated (simulate a day with `quotalab simulate --duration 24h "
                "--strategies cached,cached+backoff`, or measure with `quotalab run`)."
            )
        return note + _part_of_a_period(report)
    return (
        note + ": a caching client's warm-up (each cache's first token) is told apart from "
        "its steady state and its refreshes are counted at the token lifetime; "
        "a client fetching as it calls is extrapolated linearly. Per strategy:"
    )


PERIOD_SLACK = 0.01
"""A span this close (as a share of one period) to a whole number of its traffic's
periods needs no word: a burst model's 10x peak over 1 % of a period moves the day by
under 10 %, over 0.2 % (1 s of burst's 600) by under 2 %."""


def _part_of_a_period(report: Report) -> str:
    """What a simulated span that is not a whole number of its traffic's periods means."""
    settings = report.meta.settings
    period, span = settings.get("traffic_period_s"), settings.get("duration_s")
    if not isinstance(period, int | float) or not isinstance(span, int | float) or period <= 0:
        return ""
    whole = max(1, round(span / period)) * period  # the nearest whole number of periods
    if abs(span - whole) <= PERIOD_SLACK * period:
        return ""  # the part left over moves the day by a few percent at most
    return (
        f" The {settings.get('traffic')} traffic's rate repeats every {_span(period)} s and "
        f"this span of {_span(span)} s is {span / period:.4g} of its periods: its day is "
        "the rate of the part played, not the model's mean (simulate a whole number of "
        f"periods, e.g. --duration {whole:.0f}s)."
    )


def _span(seconds: float) -> str:
    """Seconds as given, with thousands separators: ``1,801``, ``1,800.4``, ``0.5``."""
    if float(seconds).is_integer():
        return f"{seconds:,.0f}"
    return f"{seconds:,.3f}".rstrip("0").rstrip(".")


PLAIN_LINEAR_NOTES = frozenset({AT_STEADY_STATE, LINEAR_NOTE, NO_TOKEN})
"""Notes of a linear day that add nothing to the table's figures."""


def projection_lines(report: Report) -> list[str]:
    """One line per strategy: its day, the rule and, next to it, the simulated day."""
    lines = []
    for name, figures in report.strategies.items():
        projection = figures.projection
        if (
            projection.method == "linear"
            and projection.simulated is None
            and projection.note in PLAIN_LINEAR_NOTES
        ):
            continue  # the table says it all
        day = projection.tokens_per_day
        used = (
            f"{share(projection.quota_used_per_month)} of the month's quota"
            if projection.monthly_quota is not None
            else "no monthly quota"
        )
        text = f"{name}: {count(day)} tokens/day, {used} ({projection.note})"
        simulated = projection.simulated
        if simulated is not None:
            trusted = "simulation" if simulated.trust == "simulation" else "live run"
            verdict = "agrees" if simulated.agrees else f"disagrees; trust the {trusted}"
            text += (
                f"; simulated day {count(simulated.simulated_tokens_per_day)} tokens "
                f"({verdict}: {simulated.reason})"
            )
        lines.append(text)
    return lines
