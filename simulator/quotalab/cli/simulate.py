"""``quotalab simulate``: a day of token traffic in virtual time, reported like a live run."""

from __future__ import annotations

import contextlib
import functools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID, TextColumn
from rich.text import Text

from quotalab.cli.entry import app
from quotalab.clock import SystemClock
from quotalab.errors import InputError
from quotalab.gate import check_gate_file, echo_results, gate_files
from quotalab.profiles import load_config
from quotalab.report import generated_at, render_terminal, write_report
from quotalab.report.quota_plans import quota_plan
from quotalab.run.settings import parse_strategies
from quotalab.sim.core_build import core_build
from quotalab.sim.duration import parse_duration
from quotalab.sim.scenario import SimSettings, StrategyRun, run_strategy
from quotalab.sim.sim_measurements import simulated_report
from quotalab.sim.strategy_pool import check_in_process, jobs_for, run_in_processes
from quotalab.sim.traffic import TRAFFIC_MODELS
from quotalab.strategies.registry import NAMES

DEFAULT_STRATEGIES = "naive,cached,backoff,cached+backoff"

SLOW_NOTE_AFTER_S = 10.0
"""A run still going after this long, with a minute or more left, says so once."""


def pace_note(name: str, done: float, elapsed_s: float) -> str | None:
    """One line for stderr when ``name`` is on pace to take long, else None."""
    if not 0.0 < done < 1.0 or elapsed_s < SLOW_NOTE_AFTER_S:
        return None
    left_s = elapsed_s * (1.0 - done) / done
    if left_s < 60.0:
        return None
    return (
        f"{name}: about {left_s / 60.0:,.0f} min to go at this pace ({done:.0%} of virtual time "
        "played): calls that neither repeat nor stay quiet are played one by one "
        "(docs/simulation.md, Speed)"
    )


@app.command()
def simulate(
    profile: Annotated[
        str, typer.Option(help="Built-in profile: auth0, twitter, entra or okta.")
    ] = ("auth0"),
    config: Annotated[
        Path | None, typer.Option(help="A TOML file overriding the profile (as for serve).")
    ] = None,
    clients: Annotated[int, typer.Option(help="Client ids (registered applications).")] = 50,
    workers_per_client: Annotated[int, typer.Option(help="Processes sharing one client id.")] = 1,
    shared_cache: Annotated[
        bool,
        typer.Option(
            "--shared-cache/--no-shared-cache",
            help="Whether a client's workers share one token cache.",
        ),
    ] = True,
    duration: Annotated[str, typer.Option(help="Virtual time to play: 90s, 15m, 24h, 7d.")] = "2m",
    traffic: Annotated[
        str, typer.Option(help=f"Arrival model: {', '.join(TRAFFIC_MODELS)}.")
    ] = "constant",
    rate: Annotated[float, typer.Option(help="Mean API calls per second per client.")] = 1.0,
    strategies: Annotated[
        str, typer.Option(help="Comma-separated strategies to compare.")
    ] = DEFAULT_STRATEGIES,
    faults: Annotated[
        Path | None, typer.Option(help="JSON faults document, as PUT /_admin/faults takes.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Network round trip per request.")] = 20.0,
    out: Annotated[
        Path | None, typer.Option(help="Write report.json/.md/.html into this directory.")
    ] = None,
    gate: Annotated[
        Path | None, typer.Option(help="Thresholds TOML: exit 1 when the report breaks it.")
    ] = None,
    no_fast_forward: Annotated[
        bool, typer.Option("--no-fast-forward", help="Play every call event by event.")
    ] = False,
    plan: Annotated[
        str | None,
        typer.Option(help="Quota plan of the profile to project against (free, paid)."),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            help="Strategies played at once, each in a process of its own (0: one per CPU). "
            "The report is the same whatever the number. Your own strategies always play "
            "in processes of their own."
        ),
    ] = 1,
) -> None:
    """Simulate clients and strategies against the mock provider on a virtual clock.

    Same limiter, profile and strategy code as a live run; same report schema
    with meta.mode = "simulated". The same seed and settings give the same
    report.json (apart from meta.generated_at).

    Example: quotalab simulate --clients 100 --duration 24h --traffic diurnal
    --strategies naive,cached+backoff --seed 7 --out reports/sim

    Your own sans-I/O strategy: --strategies naive,my_module:factory (from the
    folder holding my_module.py).
    """
    if traffic not in TRAFFIC_MODELS:
        raise InputError(f"--traffic {traffic!r}: expected one of {', '.join(TRAFFIC_MODELS)}")
    names = parse_strategies(strategies, NAMES)
    processes = jobs_for(jobs, len(names))
    settings = SimSettings(
        profile=profile,
        config_path=str(config) if config is not None else None,
        clients=clients,
        workers_per_client=workers_per_client,
        shared_cache=shared_cache,
        duration_s=parse_duration(duration),
        traffic=traffic,
        rate=rate,
        strategies=names,
        seed=seed,
        latency_s=latency_ms / 1000.0,
        fast_forward=not no_fast_forward,
    )
    faults_path = str(faults) if faults is not None else None
    if gate is not None:
        check_gate_file(gate, names)  # a bad thresholds file fails before anything runs
    # Your own strategies are checked and played in processes of their own, whatever
    # --jobs: one that ends its process (os._exit, a crash) is then one line and exit 2,
    # never this process ending with its status and no report.
    own = any(name not in NAMES for name in names)
    if own:
        check_in_process(settings)  # a custom strategy whose factory fails fails now too
    console = Console(stderr=True, emoji=False)  # strategy names are user text
    quota = quota_plan(load_config(profile, config), profile, plan)
    if processes > 1 or own:
        runs = _run_side_by_side(console, settings, names, faults_path, processes)
    else:
        runs = _run_one_by_one(console, settings, names, faults_path)
    report = simulated_report(
        settings, runs, generated_at(SystemClock()), faults=faults_path, plan=quota
    )
    render_terminal(report, Console(emoji=False))
    if out is not None:
        paths = write_report(report, out)
        typer.echo(f"report: {paths.json} {paths.markdown} {paths.html}")
    if gate is not None:
        if out is None:
            with tempfile.TemporaryDirectory() as scratch:
                written = write_report(report, scratch).json
                failed = echo_results(gate_files(written, gate), typer.echo)
        else:
            failed = echo_results(gate_files(out / "report.json", gate), typer.echo)
        if failed:
            raise typer.Exit(1)


def _say_ran(
    console: Console, settings: SimSettings, name: str, run: StrategyRun, wall: float
) -> None:
    """One line on stderr: how many calls ``name`` played, how fast, how many skipped, and
    whether the simulation core ran compiled (``quotalab.sim.core_build``)."""
    calls = sum(t.calls for t in run.result.tallies.values())
    skipped = run.result.skipped_calls / max(calls, 1)
    console.print(
        Text(
            f"{name}: {calls:,} calls in {wall:.2f} s wall "
            f"({settings.duration_s / max(wall, 1e-9):,.0f}x real time, "
            f"{skipped:.1%} fast-forwarded, {core_build()} core)",
            style="dim",
        )
    )


class _Bars:
    """A transient progress bar for each strategy being played, and its pace note, once."""

    def __init__(self, bar: Progress, settings: SimSettings) -> None:
        self.bar = bar
        self.settings = settings
        self._playing: dict[str, tuple[TaskID, float]] = {}  # their bars and start times
        self._noted: set[str] = set()

    def advance(self, name: str, done: float) -> None:
        """``name`` has played ``done`` of the virtual time (0.0: it starts now)."""
        if name not in self._playing:
            task = self.bar.add_task(f"simulating {name}", total=1.0)
            self._playing[name] = (task, time.perf_counter())
        task, started = self._playing[name]
        self.bar.update(task, completed=done)
        if name in self._noted:
            return
        note = pace_note(name, done, time.perf_counter() - started)
        if note is not None:
            self._noted.add(name)
            self.bar.console.print(Text(note, style="dim"))

    def ended(self, name: str, run: StrategyRun, wall: float) -> None:
        """``name`` has played its run in ``wall`` seconds: its bar gives way to its line."""
        self.bar.remove_task(self._playing.pop(name)[0])
        _say_ran(self.bar.console, self.settings, name, run, wall)


@contextlib.contextmanager
def _bars(console: Console, settings: SimSettings) -> Iterator[_Bars]:
    columns = (TextColumn("{task.description}", markup=False), *Progress.get_default_columns()[1:])
    with Progress(*columns, console=console, transient=True) as bar:
        yield _Bars(bar, settings)


def _run_side_by_side(
    console: Console,
    settings: SimSettings,
    names: tuple[str, ...],
    faults_path: str | None,
    processes: int,
) -> list[StrategyRun]:
    """The strategies in ``processes`` processes at once, a progress bar for each playing
    (said when more than one play at once)."""
    with _bars(console, settings) as bars:

        def say_started(n: int) -> None:
            text = f"simulating {', '.join(names)} in {n} processes"
            bars.bar.console.print(Text(text, style="dim"))

        return run_in_processes(
            settings,
            names,
            processes,
            faults_path=faults_path,
            on_started=say_started if processes > 1 else None,
            on_progress=bars.advance,
            on_done=bars.ended,
        )


def _run_one_by_one(
    console: Console, settings: SimSettings, names: tuple[str, ...], faults_path: str | None
) -> list[StrategyRun]:
    """Each strategy in turn in this process, with its progress bar."""
    runs = []
    with _bars(console, settings) as bars:
        for name in names:
            started = time.perf_counter()
            bars.advance(name, 0.0)
            progress = functools.partial(bars.advance, name)
            run = run_strategy(settings, name, faults_path=faults_path, progress=progress)
            bars.ended(name, run, time.perf_counter() - started)
            runs.append(run)
    return runs
