"""A simulated day next to a live run: the same load, played in virtual time in-process.

For each built-in strategy of a constant-load run, the virtual-time
simulation plays 24 hours of the run's load (its users' calls per second,
one client per token cache, the profile's real token lifetime) with the same
strategy code and limits, and ``compare_with_simulation`` says whether the
live projection agrees and which figure to trust. A strategy whose day would
take longer than ``SIM_BUDGET_S`` of wall time to play (jittered retries never
repeat, so they cannot be fast-forwarded) is left out, and the run says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from quotalab.errors import InputError
from quotalab.report.day_projection import Agreement, compare_with_simulation, project_day
from quotalab.run.orchestrate import RunResult
from quotalab.run.settings import RunSettings
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.strategies.registry import NAMES

SIMULATED_DAY_S = 86_400.0
SIM_BUDGET_S = 10.0
"""Wall seconds a strategy's simulated day may take before it is left out."""
SINGLE_FLIGHT_CACHES = ("cached", "cached+backoff")
"""A cache shared by single-flight callers fetches as one caller does: simulated as
one worker, which the simulation fast-forwards."""


class _OverBudget(Exception):
    """The simulated day is on pace to take longer than the budget."""


@dataclass(frozen=True, slots=True)
class SimulatedDays:
    """Each compared strategy's agreement, and why the others were not simulated."""

    agreements: dict[str, Agreement]
    skipped: dict[str, str]


def caches_of(settings: RunSettings) -> int:
    """Token caches the live run had: one per locust process (or remote worker)."""
    return settings.master.expect_workers if settings.master is not None else settings.processes


def sim_settings_for(settings: RunSettings, strategy: str) -> SimSettings:
    """The live run's load as a simulated day: one client per cache, the same calls/s."""
    caches = caches_of(settings)
    single = strategy in SINGLE_FLIGHT_CACHES
    return SimSettings(
        profile=settings.profile,
        config_path=None if settings.config is None else str(settings.config),
        clients=caches,
        workers_per_client=1 if single else max(1, settings.users // caches),
        shared_cache=True,
        duration_s=SIMULATED_DAY_S,
        traffic="constant",
        rate=settings.users * settings.rate / caches,
        strategies=(strategy,),
        latency_s=0.0 if single else 0.02,
    )


def why_not_simulated(settings: RunSettings, strategy: str) -> str | None:
    """Why ``strategy`` of this run has no simulated day, or None when it can have one."""
    if strategy not in NAMES:  # your own code is not run in quotalab's process
        return (
            "your own strategy is not simulated beside a run (an own client does its own "
            f"I/O and cannot be; a sans-I/O one can: quotalab simulate --strategies {strategy})"
        )
    if settings.scenario.shape != "constant":
        return f"the {settings.scenario.name} scenario's load shape is not simulated"
    return None


def _simulated_tokens(
    sim: SimSettings, strategy: str, budget_s: float, wall: Callable[[], float]
) -> float:
    started = wall()

    def watch(done: float) -> None:
        elapsed = wall() - started
        if elapsed > budget_s or (done > 0 and elapsed > 1.0 and elapsed / done > budget_s):
            raise _OverBudget

    run = run_strategy(sim, strategy, progress=watch)
    tokens = sum(tally.tokens_issued for tally in run.result.tallies.values())
    return tokens * 86_400.0 / sim.duration_s


def simulate_alongside(
    result: RunResult,
    budget_s: float = SIM_BUDGET_S,
    on_start: Callable[[str], None] | None = None,
    wall: Callable[[], float] = time.perf_counter,
) -> SimulatedDays:
    """Simulate a day of each strategy the simulation can play; compare it with the live day.

    ``wall`` reads the wall clock the budget is held to.
    """
    settings = result.settings
    agreements: dict[str, Agreement] = {}
    skipped: dict[str, str] = {}
    asked_calls = settings.users * settings.rate * settings.duration_s
    for figures in result.figures:
        name = figures.strategy
        reason = why_not_simulated(settings, name)
        observation = result.observations.get(name)
        if reason is not None or observation is None:
            skipped[name] = reason or "nothing observed"
            continue
        if on_start is not None:
            on_start(name)
        try:
            sim = sim_settings_for(settings, name)
        except InputError as error:  # a load past what a simulation takes (--rate 1e5 a client)
            skipped[name] = f"the load cannot be simulated ({error})"
            continue
        try:
            simulated = _simulated_tokens(sim, name, budget_s, wall)
        except _OverBudget:
            skipped[name] = (
                f"a simulated day would take more than {budget_s:g} s here "
                "(try quotalab simulate --duration 1h)"
            )
            continue
        counts = figures.counts
        delivered = counts.calls / asked_calls
        agreements[name] = compare_with_simulation(
            project_day(observation), simulated, caches_of(settings), min(delivered, 1.0)
        )
    return SimulatedDays(agreements, skipped)
