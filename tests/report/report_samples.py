"""Hand-built measurements shared by the report and gate tests."""

from __future__ import annotations

from quotalab.report import LatencyPercentiles, RunMeta, StrategyMeasurements, TimeSeries

META = RunMeta(
    mode="simulated",
    profile="auth0",
    scenario="steady",
    generated_at="2025-01-01T00:00:00+00:00",
    settings={"users": 10, "rate": 5.0, "seed": 7},
)


def naive() -> StrategyMeasurements:
    """A strategy that fetches a token per call and gets throttled."""
    return StrategyMeasurements(
        api_calls=1200,
        api_ok=1100,
        token_requests=1200,
        tokens_issued=900,
        duration_s=60.0,
        throttled_429=300,
        latency_samples_ms=tuple(float(v) for v in range(1, 201)),
        series=TimeSeries(2.0, (400, 400, 400), (0, 100, 200), (400, 350, 350)),
    )


def cached() -> StrategyMeasurements:
    """A strategy that fetches one token per lifetime."""
    return StrategyMeasurements(
        api_calls=1200,
        api_ok=1200,
        token_requests=4,
        tokens_issued=4,
        duration_s=60.0,
        latency_percentiles=LatencyPercentiles(p50_ms=4.0, p95_ms=9.5, p99_ms=20.0),
        series=TimeSeries(2.0, (4, 0, 0), (0, 0, 0), (400, 400, 400)),
    )


def both() -> dict[str, StrategyMeasurements]:
    """naive and cached+backoff, in the order a run lists them."""
    return {"naive": naive(), "cached+backoff": cached()}
