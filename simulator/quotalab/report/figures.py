"""Derive a report's figures from raw measurements: ratios, percentiles, projections.

Every float is rounded to ``DIGITS`` decimal places here, once, so the JSON,
the tables and the gate all read the same numbers and a deterministic producer
gets byte-identical output. A figure a gate may bound is rounded towards its
worse side (``rounded_worse``): 1 failed call in 2 M never reads as a success
ratio of 1, so a bound with no tolerance (``min_success_ratio = 1``,
``max_throttled_ratio = 0``) fails as the exact figure would.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal

from quotalab.errors import InputError
from quotalab.report.day_projection import SECONDS_PER_DAY, Agreement, DayProjection
from quotalab.report.headline import verdict_for
from quotalab.report.values import (
    ChartSeries,
    LatencyPercentiles,
    Projection,
    QuotaPlan,
    Report,
    RunMeta,
    StrategyFigures,
    StrategyMeasurements,
    TimeSeries,
)

DIGITS = 4
DAYS_PER_MONTH = 30
PROJECTION_BASIS = "tokens_issued"
LINEAR_NOTE = "tokens issued over the run, extrapolated linearly"
"""The note of a day projected linearly with no rule of ``day_projection`` (simulations)."""


def rounded(value: float | None) -> float | None:
    """Round a figure to the report's precision; ``None`` stays ``None``."""
    return None if value is None else round(float(value), DIGITS)


_QUANTUM = Decimal(1).scaleb(-DIGITS)
_EXACT = Context(prec=400)  # digits to spare for any finite float at 4 decimals


def rounded_worse(value: float | None, worse: str) -> float | None:
    """``rounded``, but towards the ``worse`` side ("higher" or "lower"): a gate bound the
    exact figure breaks is broken by the rounded one too.

    The figure is first taken at 14 significant digits, which drops the noise of the
    float arithmetic that made it (41 token requests in 10,000 calls are 4.1 per 1,000,
    not the 4.1000000000000005 that ``41 / 10_000 * 1000`` gives, which would round up
    to 4.1001); a shortfall a report can show is far above that.
    """
    if value is None or not math.isfinite(value):
        return value
    how = ROUND_CEILING if worse == "higher" else ROUND_FLOOR
    exact = Decimal(f"{float(value):.14g}")
    return float(exact.quantize(_QUANTUM, rounding=how, context=_EXACT))


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or ``None`` when the denominator is zero."""
    return None if denominator == 0 else numerator / denominator


def nearest_rank(counts: Iterable[tuple[float, int]], percent: float) -> float | None:
    """The nearest-rank percentile of a weighted sample ``(value, count)``.

    The smallest value whose cumulative count reaches ``ceil(percent/100 * n)``;
    ``None`` for an empty sample.
    """
    ordered = sorted((value, count) for value, count in counts if count > 0)
    total = sum(count for _, count in ordered)
    if total == 0:
        return None
    rank = max(1, math.ceil(percent / 100 * total))
    seen = 0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    return ordered[-1][0]  # pragma: no cover - rank <= total always lands above


def latency_of(measured: StrategyMeasurements) -> LatencyPercentiles | None:
    """p50/p95/p99 from whichever latency form the producer supplied."""
    if measured.latency_percentiles is not None:
        return measured.latency_percentiles
    counts: list[tuple[float, int]]
    if measured.latency_histogram is not None:
        counts = [(float(value), int(count)) for value, count in measured.latency_histogram.items()]
    else:
        counts = [(float(value), 1) for value in measured.latency_samples_ms]
    p50, p95, p99 = (nearest_rank(counts, p) for p in (50, 95, 99))
    if p50 is None or p95 is None or p99 is None:
        return None
    return LatencyPercentiles(p50_ms=p50, p95_ms=p95, p99_ms=p99)


def quota_days(per_day: float | None, quota: int | None) -> tuple[bool | None, float | None]:
    """Whether a day's use of ``per_day`` tokens exhausts a monthly ``quota`` within the
    month (None: nothing to tell), and in how many days (None: it does not).

    Without a quota nothing can be exhausted: a gate's quota bound then holds.
    """
    if per_day is None:
        return None, None
    within = quota is not None and per_day * DAYS_PER_MONTH >= quota
    return within, quota / per_day if within and per_day and quota else None


def project(
    tokens_issued: int,
    duration_s: float,
    plan: QuotaPlan,
    day: DayProjection | None = None,
    simulated: Agreement | None = None,
) -> Projection:
    """A day of tokens (``day``'s rule, else linear over the run) and its 30-day month.

    Days to quota say what they mean: a month whose use stays below the plan's
    quota never exhausts it (the quota renews), so the days are ``None`` and
    ``quota_exhausted_within_month`` False, never a small number.
    """
    if day is not None:
        per_day: float | None = day.tokens_per_day
    else:
        per_second = ratio(tokens_issued, duration_s) if duration_s > 0 else None
        per_day = None if per_second is None else per_second * SECONDS_PER_DAY
    per_month = None if per_day is None else per_day * DAYS_PER_MONTH
    quota = plan.monthly_m2m_tokens
    quota_share = None if per_month is None or quota is None else ratio(per_month, quota)
    within, days_left = quota_days(per_day, quota)
    return Projection(
        basis=PROJECTION_BASIS,
        tokens_per_day=rounded_worse(per_day, "higher"),
        tokens_per_month=rounded_worse(per_month, "higher"),
        monthly_quota=quota,
        quota_used_per_month=rounded_worse(quota_share, "higher"),
        days_until_quota_exhausted=rounded_worse(days_left, "lower"),
        quota_exhausted_within_month=within,
        method=day.method if day else "linear",
        note=day.note if day else LINEAR_NOTE,
        warmup_tokens=day.warmup_tokens if day else None,
        steady_tokens=day.steady_tokens if day else None,
        refresh_interval_s=rounded(day.refresh_interval_s) if day else None,
        observed_refresh_interval_s=rounded(day.observed_refresh_interval_s) if day else None,
        margin_s=rounded(day.margin_s) if day else None,
        simulated=_rounded_agreement(simulated),
    )


def _rounded_agreement(agreement: Agreement | None) -> Agreement | None:
    if agreement is None:
        return None
    return dataclasses.replace(
        agreement, simulated_tokens_per_day=round(agreement.simulated_tokens_per_day, DIGITS)
    )


def rates_of(series: TimeSeries | None, name: str) -> ChartSeries:
    """Counts per bucket as rates per second; an absent series is empty."""
    if series is None:
        return ChartSeries(
            bucket_s=1.0, token_requests_per_s=(), throttled_per_s=(), api_ok_per_s=()
        )
    if not series.bucket_s > 0:
        raise InputError(f"strategy {name!r}: series bucket_s must be > 0, got {series.bucket_s}")
    lengths = {len(series.token_requests), len(series.throttled), len(series.api_ok)}
    if len(lengths) != 1:
        raise InputError(
            f"strategy {name!r}: series lists have different lengths {sorted(lengths)}"
        )

    def per_s(counts: tuple[int, ...]) -> tuple[float, ...]:
        return tuple(round(count / series.bucket_s, DIGITS) for count in counts)

    return ChartSeries(
        bucket_s=round(float(series.bucket_s), DIGITS),
        token_requests_per_s=per_s(series.token_requests),
        throttled_per_s=per_s(series.throttled),
        api_ok_per_s=per_s(series.api_ok),
    )


def _check_counts(name: str, measured: StrategyMeasurements) -> None:
    """Refuse measurements no producer can have made (a bug upstream, not a result)."""
    counts = {
        "api_calls": measured.api_calls,
        "api_ok": measured.api_ok,
        "token_requests": measured.token_requests,
        "tokens_issued": measured.tokens_issued,
        "throttled_429": measured.throttled_429,
        "forbidden_403_99": measured.forbidden_403_99,
        "throttled_4xx": measured.throttled_4xx,
        "auth_failures_401_403": measured.auth_failures_401_403,
        "faults_503": measured.faults_503,
    }
    for key, value in counts.items():
        if value < 0:
            raise InputError(f"strategy {name!r}: {key} must be >= 0, got {value}")
    if (measured.calls is None) != (measured.calls_ok is None):
        raise InputError(f"strategy {name!r}: give both calls and calls_ok, or neither")
    if measured.calls is not None and measured.calls_ok is not None:
        if measured.calls < 0 or measured.calls_ok < 0:
            raise InputError(f"strategy {name!r}: calls and calls_ok must be >= 0")
        if measured.calls_ok > measured.calls:
            raise InputError(f"strategy {name!r}: calls_ok exceeds calls")
    if measured.api_ok > measured.api_calls:
        raise InputError(f"strategy {name!r}: api_ok exceeds api_calls")
    if measured.tokens_issued > measured.token_requests:
        raise InputError(f"strategy {name!r}: tokens_issued exceeds token_requests")
    if not measured.duration_s >= 0 or math.isinf(measured.duration_s):
        raise InputError(f"strategy {name!r}: duration_s must be a finite number >= 0")


def count_ratios(
    calls: int, calls_ok: int, api_calls: int, token_requests: int, throttled: int
) -> dict[str, float | None]:
    """The figures a report derives from its counts alone, rounded as it writes them:
    ``token_requests_per_1k_calls``, ``throttled_ratio`` and ``success_ratio``."""
    per_call = ratio(token_requests, calls)
    return {
        "token_requests_per_1k_calls": rounded_worse(
            None if per_call is None else per_call * 1000, "higher"
        ),
        "throttled_ratio": rounded_worse(ratio(throttled, api_calls + token_requests), "higher"),
        "success_ratio": rounded_worse(ratio(calls_ok, calls), "lower"),
    }


def figures_of(name: str, measured: StrategyMeasurements, plan: QuotaPlan) -> StrategyFigures:
    """Every derived figure of one strategy."""
    _check_counts(name, measured)
    latency = latency_of(measured)
    throttled = measured.throttled_429 + measured.forbidden_403_99 + measured.throttled_4xx
    calls = measured.api_calls if measured.calls is None else measured.calls
    calls_ok = measured.api_ok if measured.calls_ok is None else measured.calls_ok
    derived = count_ratios(calls, calls_ok, measured.api_calls, measured.token_requests, throttled)
    return StrategyFigures(
        calls=calls,
        calls_ok=calls_ok,
        api_calls=measured.api_calls,
        api_ok=measured.api_ok,
        token_requests=measured.token_requests,
        tokens_issued=measured.tokens_issued,
        token_requests_per_1k_calls=derived["token_requests_per_1k_calls"],
        throttled_429=measured.throttled_429,
        forbidden_403_99=measured.forbidden_403_99,
        throttled_4xx=measured.throttled_4xx,
        auth_failures_401_403=measured.auth_failures_401_403,
        faults_503=measured.faults_503,
        throttled_ratio=derived["throttled_ratio"],
        success_ratio=derived["success_ratio"],
        p50_ms=rounded_worse(latency.p50_ms, "higher") if latency else None,
        p95_ms=rounded_worse(latency.p95_ms, "higher") if latency else None,
        p99_ms=rounded_worse(latency.p99_ms, "higher") if latency else None,
        duration_s=round(float(measured.duration_s), DIGITS),
        projection=project(
            measured.tokens_issued, measured.duration_s, plan, measured.day, measured.simulated
        ),
        series=rates_of(measured.series, name),
        failures=measured.failures,
    )


def build_report(
    meta: RunMeta,
    strategies: Mapping[str, StrategyMeasurements],
    plan: QuotaPlan | None = None,
) -> Report:
    """Compute every strategy's figures and the verdict; keeps the producer's order."""
    plan = plan or QuotaPlan()
    if plan.monthly_m2m_tokens is not None and plan.monthly_m2m_tokens <= 0:
        raise InputError(f"plan {plan.name!r}: monthly_m2m_tokens must be > 0")
    figures = {name: figures_of(name, measured, plan) for name, measured in strategies.items()}
    return Report(meta=meta, plan=plan, strategies=figures, verdict=verdict_for(figures))
