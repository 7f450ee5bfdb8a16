"""The values of a report: what producers measure and what the report derives.

Producers (the locust run, the virtual-time simulation) fill
``StrategyMeasurements`` with raw counts; ``build_report`` turns them into a
``Report`` whose figures every renderer and the gate read.

Counting conventions (shared by every producer):

- ``calls``: logical API calls the client attempted (each may take several
  HTTP requests: token fetches, retries); ``calls_ok``: those that ended in a
  2xx API answer. Success and token requests per 1,000 calls are relative to
  ``calls``; a producer that cannot tell leaves them ``None`` and the report
  falls back to ``api_calls`` / ``api_ok``.
- ``api_calls``: requests sent to the protected API; ``api_ok``: those answered 2xx.
- ``token_requests``: requests sent to the token endpoint; ``tokens_issued``:
  those answered with a token (the plan's M2M quota counts these).
- ``throttled_429`` / ``forbidden_403_99`` / ``throttled_4xx``: throttling
  answers (429, Twitter's 403 code 99, any other 4xx a provider throttles
  with: Entra's 400 AADSTS50196) on either endpoint; ``throttled_ratio``
  counts all three; ``auth_failures_401_403``: other 401/403
  answers; ``faults_503``: 503 answers and transport errors.
- ``failures``: failed calls by reason (an exception type out of an own
  client's ``call_api``, a strategy's error, ``http_<status>``).

Every producer turns its counts into measurements in one place,
``quotalab.report.counted``, from one count model (``quotalab.outcomes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from quotalab import __version__
from quotalab.report.day_projection import Agreement, DayProjection

Mode = Literal["live", "simulated"]
SettingValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class QuotaPlan:
    """A provider plan's monthly M2M token quota (Auth0's free plan: 1,000).

    Plans are data: the profile's ``[plans.*]`` tables (``quotalab run --plan``).
    A profile that lists none (Entra, Okta, Twitter publish no monthly token
    quota) reads ``NO_QUOTA``: ``monthly_m2m_tokens`` is ``None`` and reports
    project tokens per day and month without days to a quota.
    """

    name: str = "auth0-free"
    monthly_m2m_tokens: int | None = 1000


NO_QUOTA = QuotaPlan("none", None)
"""The plan of a profile without a monthly token quota."""


@dataclass(frozen=True, slots=True)
class LatencyPercentiles:
    """API latency percentiles in milliseconds, as a producer computed them."""

    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """Event counts per bucket of ``bucket_s`` seconds, from the start of the run.

    The three tuples have one entry per bucket; the report turns them into rates
    per second (count / ``bucket_s``).
    """

    bucket_s: float
    token_requests: tuple[int, ...] = ()
    throttled: tuple[int, ...] = ()
    api_ok: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FailedCalls:
    """Calls that failed for one reason: an exception type or ``http_<status>``.

    ``throttled``: how many of them failed on a throttling answer (429, 403
    code 99); ``first_message``: the first such exception's message.
    """

    reason: str
    calls: int
    throttled: int = 0
    first_message: str = ""


@dataclass(frozen=True, slots=True)
class StrategyMeasurements:
    """Raw measurements of one strategy over one run.

    Latency comes as one of: ``latency_percentiles`` (locust computes them),
    ``latency_histogram`` (``{latency_ms: count}``, flat memory for long
    simulations) or ``latency_samples_ms``; the first one given wins.
    """

    api_calls: int
    api_ok: int
    token_requests: int
    tokens_issued: int
    duration_s: float
    throttled_429: int = 0
    forbidden_403_99: int = 0
    throttled_4xx: int = 0
    auth_failures_401_403: int = 0
    faults_503: int = 0
    calls: int | None = None
    calls_ok: int | None = None
    latency_percentiles: LatencyPercentiles | None = None
    latency_histogram: Mapping[float, int] | None = None
    latency_samples_ms: tuple[float, ...] = ()
    series: TimeSeries | None = None
    failures: tuple[FailedCalls, ...] = ()
    day: DayProjection | None = None
    simulated: Agreement | None = None


@dataclass(frozen=True, slots=True)
class RunMeta:
    """Which version, mode, profile, scenario and settings produced a run."""

    mode: Mode
    profile: str
    scenario: str
    generated_at: str
    settings: Mapping[str, SettingValue] = field(default_factory=dict)
    version: str = __version__


@dataclass(frozen=True, slots=True)
class Projection:
    """Token use extrapolated from the run to a day and a 30-day month.

    ``method`` says which rule made the day (``day_projection``: ``linear``,
    ``steady_state``, ``refresh_cadence``) and ``note`` says it in words.
    ``days_until_quota_exhausted`` is ``None`` when a month's use stays below
    the quota (``quota_exhausted_within_month`` is then False: the quota
    renews before it runs out) and where the run cannot say (no duration).
    ``simulated``: the virtual-time simulation's day for the same load, when
    one was played next to a live run.
    """

    basis: str
    tokens_per_day: float | None
    tokens_per_month: float | None
    monthly_quota: int | None
    quota_used_per_month: float | None
    days_until_quota_exhausted: float | None
    quota_exhausted_within_month: bool | None = None
    method: str = "linear"
    note: str = ""
    warmup_tokens: int | None = None
    steady_tokens: int | None = None
    refresh_interval_s: float | None = None
    observed_refresh_interval_s: float | None = None
    margin_s: float | None = None
    simulated: Agreement | None = None


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """Rates per second, one entry per bucket of ``bucket_s`` seconds."""

    bucket_s: float
    token_requests_per_s: tuple[float, ...]
    throttled_per_s: tuple[float, ...]
    api_ok_per_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class StrategyFigures:
    """Every figure the report shows for one strategy (floats already rounded)."""

    calls: int
    calls_ok: int
    api_calls: int
    api_ok: int
    token_requests: int
    tokens_issued: int
    token_requests_per_1k_calls: float | None
    throttled_429: int
    forbidden_403_99: int
    auth_failures_401_403: int
    faults_503: int
    throttled_ratio: float | None
    success_ratio: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    duration_s: float
    projection: Projection
    series: ChartSeries
    failures: tuple[FailedCalls, ...] = ()
    throttled_4xx: int = 0


@dataclass(frozen=True, slots=True)
class Report:
    """A whole run: meta, the plan, each strategy's figures and the verdict."""

    meta: RunMeta
    plan: QuotaPlan
    strategies: Mapping[str, StrategyFigures]
    verdict: str
