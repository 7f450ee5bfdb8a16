"""The one place a producer's counts become a report's ``StrategyMeasurements``.

The live run and the simulation both count into ``quotalab.outcomes.ClientTally``
(calls, requests by kind, failed calls by reason); this turns one into the
measurements ``build_report`` takes, so no figure is copied field by field twice.
"""

from __future__ import annotations

from collections.abc import Mapping

from quotalab.outcomes import ClientTally
from quotalab.report.values import FailedCalls, StrategyMeasurements, TimeSeries

THROTTLED = frozenset({"ThrottledError", "http_429"})
"""Reasons that are throttles by name: a strategy giving up throttled, a final 429."""

MAX_REASONS = 50
"""Reasons a report lists one by one; the rarer ones are summed into one line (a client
raising a new exception type per call would otherwise write a report per call)."""


def failures_of(
    counts: ClientTally,
    throttled: Mapping[str, int] | None = None,
    first_messages: Mapping[str, str] | None = None,
) -> tuple[FailedCalls, ...]:
    """Failed calls by reason, most frequent first (then by name, for stable output).

    ``throttled``: how many calls of a reason were throttled, where the producer
    knows (an own client's exceptions); otherwise the reason's name tells.
    """
    throttled = throttled or {}
    first_messages = first_messages or {}
    reasons = sorted(
        (r for r, n in counts.errors.items() if n > 0), key=lambda r: (-counts.errors[r], r)
    )
    listed = [
        FailedCalls(
            reason=reason,
            calls=counts.errors[reason],
            throttled=throttled.get(reason, counts.errors[reason] if reason in THROTTLED else 0),
            first_message=first_messages.get(reason, ""),
        )
        for reason in reasons
    ]
    if len(listed) <= MAX_REASONS:
        return tuple(listed)
    kept, rest = listed[: MAX_REASONS - 1], listed[MAX_REASONS - 1 :]
    folded = FailedCalls(
        reason=f"({len(rest)} other reasons)",
        calls=sum(failed.calls for failed in rest),
        throttled=sum(failed.throttled for failed in rest),
        first_message=f"each of at most {rest[0].calls} calls: "
        + ", ".join(failed.reason for failed in rest[:5])
        + (", ..." if len(rest) > 5 else ""),
    )
    return (*kept, folded)


def measurements_from_counts(
    counts: ClientTally,
    *,
    duration_s: float,
    latency_histogram_ms: Mapping[int, int],
    series: TimeSeries | None,
    failures: tuple[FailedCalls, ...] | None = None,
) -> StrategyMeasurements:
    """One strategy's measurements from its counts.

    Its producer saw how each call ended (``counts.calls``, ``counts.ok``);
    ``failures``: by reason, with messages, when it has more to say than
    ``counts.errors``.
    """
    return StrategyMeasurements(
        api_calls=counts.api_calls,
        api_ok=counts.api_ok,
        token_requests=counts.token_requests,
        tokens_issued=counts.tokens_issued,
        duration_s=duration_s,
        throttled_429=counts.throttled_429,
        forbidden_403_99=counts.forbidden_403_99,
        throttled_4xx=counts.throttled_4xx,
        auth_failures_401_403=counts.auth_failures_401_403,
        faults_503=counts.faults_503,
        calls=counts.calls,
        calls_ok=counts.ok,
        latency_histogram={float(ms): n for ms, n in sorted(latency_histogram_ms.items())},
        series=series,
        failures=failures_of(counts) if failures is None else failures,
    )
