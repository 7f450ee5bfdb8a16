"""A finished comparison run as a quota report (report.json / .md / .html)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quotalab.clock import Clock
from quotalab.report import (
    Report,
    ReportPaths,
    RunMeta,
    StrategyMeasurements,
    TimeSeries,
    build_report,
    generated_at,
    point_latest,
    run_directory,
    write_report,
)
from quotalab.run.live_measurements import Figures
from quotalab.run.orchestrate import RunResult
from quotalab.run.settings import RunSettings


@dataclass(frozen=True, slots=True)
class WrittenReport:
    """The report and where its files went."""

    report: Report
    paths: ReportPaths


def calls_of(flows: dict[str, int]) -> tuple[int | None, int | None]:
    """Logical calls attempted and succeeded, from how each flow ended.

    Flows cut short when the run stopped (``abandoned``) were never finished,
    so they count neither way. No flows at all means the client did not say.
    """
    finished = {ending: n for ending, n in flows.items() if ending != "abandoned"}
    if not finished:
        return None, None
    return sum(finished.values()), finished.get("ok", 0)


def measurements_of(figures: Figures) -> StrategyMeasurements:
    """The report's raw measurements of one strategy."""
    calls, calls_ok = calls_of(figures.flows)
    return StrategyMeasurements(
        calls=calls,
        calls_ok=calls_ok,
        api_calls=figures.api_calls,
        api_ok=figures.api_ok,
        token_requests=figures.token_requests,
        tokens_issued=figures.tokens_issued,
        duration_s=figures.duration_s,
        throttled_429=figures.throttled_429,
        forbidden_403_99=figures.forbidden_403_99,
        auth_failures_401_403=figures.auth_failures_401_403,
        faults_503=figures.faults_503,
        latency_histogram={float(ms): n for ms, n in figures.latency_histogram.items()},
        series=TimeSeries(
            bucket_s=1.0,
            token_requests=figures.series.token_requests,
            throttled=figures.series.throttled,
            api_ok=figures.series.api_ok,
        ),
    )


def meta_of(settings: RunSettings, clock: Clock) -> RunMeta:
    """Which settings produced the run, recorded in the report."""
    return RunMeta(
        mode="live",
        profile=settings.profile,
        scenario=settings.scenario.name,
        generated_at=generated_at(clock),
        settings={
            "strategies": ",".join(settings.strategies),
            "users": settings.users,
            "rate_per_user": settings.rate,
            "duration_s": settings.duration_s,
            "processes": settings.processes,
            "workers": None if settings.master is None else settings.master.expect_workers,
            "target": settings.target,
            "config": None if settings.config is None else str(settings.config),
            "load_generator": "locust",
        },
    )


def report_of(result: RunResult, clock: Clock) -> Report:
    """Build the report of ``result`` (strategies in the order they ran)."""
    measured = {figures.strategy: measurements_of(figures) for figures in result.figures}
    return build_report(meta_of(result.settings, clock), measured)


def new_run_directory(settings: RunSettings, clock: Clock) -> Path:
    """``<out>/<timestamp>-<scenario>/``, created."""
    return run_directory(settings.out_dir, settings.scenario.name, clock)


def write_run_report(result: RunResult, run_dir: Path, clock: Clock) -> WrittenReport:
    """Write the report into ``run_dir`` and point ``latest`` at it."""
    report = report_of(result, clock)
    paths = write_report(report, run_dir)
    point_latest(run_dir)
    return WrittenReport(report, paths)
