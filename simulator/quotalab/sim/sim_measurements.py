"""Turn simulated runs into the report's measurements, with ``meta.mode = "simulated"``.

Nothing wall-clock goes into the report, so the same seed and settings give
the same report.json apart from ``meta.generated_at``.
"""

from __future__ import annotations

from collections.abc import Sequence

from quotalab.outcomes import ClientTally
from quotalab.report import RunMeta, StrategyMeasurements, TimeSeries, build_report
from quotalab.report.counted import failures_of, measurements_from_counts
from quotalab.report.values import QuotaPlan, Report
from quotalab.sim.scenario import SimSettings, StrategyRun
from quotalab.sim.traffic import TRAFFIC_PERIOD_S


def measurements_of(run: StrategyRun) -> StrategyMeasurements:
    """One strategy's counts over every client, its latency histogram and series."""
    total = ClientTally()
    for tally in run.result.tallies.values():
        total.merge(tally)
    series = run.result.series
    return measurements_from_counts(
        total,
        # The engine saw the answer each failed call gave up on: no reason goes by its name.
        failures=failures_of(
            total,
            {reason: total.throttled_errors.get(reason, 0) for reason in total.errors},
            total.first_messages,
        ),
        duration_s=run.result.duration_s,
        latency_histogram_ms=run.result.latencies.counts,
        series=TimeSeries(
            bucket_s=series.width_s,
            token_requests=tuple(series.values["token_requests"]),
            throttled=tuple(series.values["throttled"]),
            api_ok=tuple(series.values["api_ok"]),
        ),
    )


def settings_of(settings: SimSettings, faults: str | None) -> dict[str, str | int | float | bool]:
    """The settings recorded in ``meta.settings`` (everything that shapes the result)."""
    recorded: dict[str, str | int | float | bool] = {
        "clients": settings.clients,
        "workers_per_client": settings.workers_per_client,
        "shared_cache": settings.shared_cache,
        "duration_s": settings.duration_s,
        "traffic": settings.traffic,
        "rate_per_client": settings.rate,
        "seed": settings.seed,
        "latency_ms": round(settings.latency_s * 1000.0, 3),
        "config": settings.config_path or "",
        "faults": faults or "",
        "strategies": ",".join(settings.strategies),
    }
    period = TRAFFIC_PERIOD_S.get(settings.traffic)
    if period is not None:  # a span of part of one is not the model's mean: the report says so
        recorded["traffic_period_s"] = period
    return recorded


def simulated_report(
    settings: SimSettings,
    runs: Sequence[StrategyRun],
    generated_at: str,
    *,
    faults: str | None = None,
    plan: QuotaPlan | None = None,
) -> Report:
    """The report of a simulation, ready for ``write_report`` or ``render_terminal``."""
    scenario = f"simulate-{settings.traffic}-{settings.clients}x{settings.workers_per_client}"
    meta = RunMeta(
        mode="simulated",
        profile=settings.profile,
        scenario=scenario,
        generated_at=generated_at,
        settings=settings_of(settings, faults),
    )
    return build_report(meta, {run.strategy: measurements_of(run) for run in runs}, plan)
