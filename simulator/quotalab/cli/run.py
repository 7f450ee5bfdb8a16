"""``quotalab run``: the locust comparison of client strategies, with a report and a gate."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, Task, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from quotalab.cli.entry import app
from quotalab.clock import SystemClock
from quotalab.errors import QuotalabError
from quotalab.gate import check_gate_file, echo_results, gate_files
from quotalab.report import render_terminal
from quotalab.run.locust_process import Elapsed
from quotalab.run.orchestrate import (
    check_strategy_specs,
    provider_config,
    run_comparison,
    run_plan,
)
from quotalab.run.progress import progress_state
from quotalab.run.reporting import new_run_directory, write_run_report
from quotalab.run.scenarios import SCENARIOS
from quotalab.run.settings import RunSettings, build_settings
from quotalab.run.sim_alongside import SimulatedDays, simulate_alongside
from quotalab.strategies.registry import NAMES


def _check_before_start(settings: RunSettings) -> None:
    """Fail on a bad profile, config, plan, strategy factory or thresholds file before any load."""
    config = provider_config(settings)
    run_plan(settings, config)
    # Own modules are imported here; their factories are called only against the
    # run's server (own_clients_of), before any load: a client may fetch a token
    # as it is built.
    check_strategy_specs(settings)
    if settings.gate is not None:
        check_gate_file(settings.gate, settings.strategies)


def _discard(run_dir: Path, made: list[Path]) -> None:
    """Remove ``run_dir`` and the folders of ``made`` (created for it, deepest first)
    that it leaves empty."""
    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return


def _terminate_on_sigterm() -> None:
    """SIGTERM stops the run as Ctrl-C does: locust is stopped, nothing left behind."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@app.command()
def run(
    scenario: Annotated[
        str, typer.Option("--scenario", help=f"One of: {', '.join(SCENARIOS)}.")
    ] = "steady",
    strategies: Annotated[
        str | None,
        typer.Option(
            "--strategies",
            help="Comma-separated: naive, cached, backoff, cached+backoff, article, "
            "or your own package.module:factory. Default: the first four.",
        ),
    ] = None,
    users: Annotated[
        int | None, typer.Option("--users", help="Concurrent locust users (scenario default).")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="API calls per second per user.")
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", help="Per strategy, e.g. 12s, 2m.")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="auth0, twitter, entra or okta (scenario default)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Server config TOML for the local server.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="A running quotalab server URL; no local server."),
    ] = None,
    processes: Annotated[
        int, typer.Option("--processes", help="locust worker processes (locust --processes).")
    ] = 1,
    master: Annotated[
        bool,
        typer.Option(
            "--master", help="Run locust's master here; workers elsewhere run quotalab worker."
        ),
    ] = False,
    expect_workers: Annotated[
        int | None,
        typer.Option("--expect-workers", help="With --master: workers to wait for (default 1)."),
    ] = None,
    master_bind_host: Annotated[
        str | None,
        typer.Option(
            "--master-bind-host",
            help="With --master: interface to listen on (127.0.0.1; beyond it: --allow-remote).",
        ),
    ] = None,
    master_bind_port: Annotated[
        int | None,
        typer.Option("--master-bind-port", help="With --master: port workers connect to (5557)."),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --target or a --master-bind-host beyond this machine.",
        ),
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Reports directory.")] = Path("reports"),
    gate: Annotated[
        Path | None,
        typer.Option("--gate", help="Thresholds TOML: gate the result; exit code follows it."),
    ] = None,
    tls: Annotated[
        bool,
        typer.Option("--tls", help="Serve the local mock over HTTPS (a throwaway CA, trusted)."),
    ] = False,
    token_lifetime: Annotated[
        str | None,
        typer.Option(
            "--token-lifetime",
            help="Local mock issues tokens living this long (e.g. 60s), so refreshes happen "
            "in the run; the day is projected at the profile's lifetime. Default duration: "
            "two lifetimes.",
        ),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option("--plan", help="Quota plan of the profile to project against (free, paid)."),
    ] = None,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate/--no-simulate",
            help="Play a simulated day of each built-in strategy next to the live projection.",
        ),
    ] = True,
) -> None:
    """Run locust once per strategy against fresh server state and report quota use.

    Writes <out>/<timestamp>-<scenario>/report.{json,md,html} and points
    <out>/latest at it. Exit 0, or the gate's code with --gate (1 = violated).

    Example: quotalab run --scenario steady --strategies naive,cached+backoff --duration 20s

    Refreshes of your own client: quotalab run --strategies pkg.mod:factory --token-lifetime 60s

    Several machines: quotalab run --master --master-bind-host 0.0.0.0 --expect-workers 2
    --target http://A:8080 --allow-remote
    """
    settings = build_settings(
        scenario=scenario,
        strategies=strategies,
        known_strategies=NAMES,
        users=users,
        rate=rate,
        duration=duration,
        profile=profile,
        processes=processes,
        config=config,
        target=target,
        out_dir=out,
        gate=gate,
        master=master,
        expect_workers=expect_workers,
        master_bind_host=master_bind_host,
        master_bind_port=master_bind_port,
        allow_remote=allow_remote,
        tls=tls,
        token_lifetime=token_lifetime,
        plan=plan,
        simulate=simulate,
    )
    _check_before_start(settings)
    _terminate_on_sigterm()
    console = Console(emoji=False)  # strategy names are user text: printed literally
    clock = SystemClock()
    out = settings.out_dir
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # for _discard
    run_dir = new_run_directory(settings, clock)
    console.print(
        f"quotalab run: scenario [bold]{settings.scenario.name}[/bold], "
        f"{settings.users} users x {settings.rate:g} calls/s, "
        f"{settings.duration_s:g}s per strategy, {len(settings.strategies)} strategies"
    )
    if settings.token_lifetime_s is not None:
        console.print(
            f"tokens live {settings.token_lifetime_s:g}s in this run; refreshes are measured and "
            "the day is projected at the profile's token lifetime"
        )
    if settings.master is not None:
        console.print(
            f"locust master on port {settings.master.bind_port}: waiting for "
            f"{settings.master.expect_workers} worker(s) per strategy "
            f"(quotalab worker --master-host THIS_HOST --master-port {settings.master.bind_port})"
        )
        if settings.target is None:
            console.print(
                "the local server listens on 127.0.0.1 only: for workers on other machines "
                "start quotalab serve --host 0.0.0.0 there and give --target"
            )
    with Progress(
        TextColumn("{task.description:<16}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {
            name: progress.add_task(name, total=settings.duration_s, status="waiting", start=False)
            for name in settings.strategies
        }

        def task_of(name: str) -> Task:
            return next(task for task in progress.tasks if task.id == tasks[name])

        def finish(name: str) -> None:
            if task_of(name).started and task_of(name).stop_time is None:
                progress.stop_task(tasks[name])
            progress.update(tasks[name], completed=settings.duration_s, status="done")

        workers = None if settings.master is None else settings.master.expect_workers

        def tick(strategy: str, elapsed: Elapsed) -> None:
            if not task_of(strategy).started:
                for name in settings.strategies[: settings.strategies.index(strategy)]:
                    finish(name)
                progress.start_task(tasks[strategy])  # each strategy's own elapsed time
            # The bar follows the test, which a master starts once its workers connect.
            shown = progress_state(elapsed, settings.duration_s, workers)
            progress.update(tasks[strategy], completed=shown.completed_s, status=shown.status)

        try:
            result = run_comparison(settings, run_dir / "locust", tick)
        except QuotalabError:
            if not any(task_of(name).started for name in settings.strategies):
                # found before any load (a factory, the target): nothing to keep
                _discard(run_dir, made)
            raise
        for name in settings.strategies:
            finish(name)
    days = SimulatedDays({}, {})
    if settings.simulate:
        days = simulate_alongside(
            result,
            on_start=lambda name: console.print(
                f"simulating a day of {name}", style="dim", markup=False, emoji=False
            ),
        )
    written = write_run_report(result, run_dir, clock, days.agreements)
    render_terminal(written.report, console)
    for name, reason in days.skipped.items():
        if settings.simulate:
            console.print(
                f"no simulated day for {name}: {reason}", style="dim", markup=False, emoji=False
            )
    for warning in result.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))
    console.print(Text(f"HTML report: {written.paths.html}"))
    failed = 0
    if settings.gate is not None:
        failed = echo_results(gate_files(written.paths.json, settings.gate), typer.echo)
    else:
        for problem in result.problems:
            console.print(Text.assemble(("error: ", "bold red"), problem))
    if failed or result.problems:
        raise typer.Exit(1)
