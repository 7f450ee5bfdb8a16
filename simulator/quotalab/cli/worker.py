"""``quotalab worker``: serve a ``quotalab run --master`` on another machine."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from quotalab.cli.entry import app
from quotalab.run.workers import check_worker, serve_runs


@app.command()
def worker(
    master_host: Annotated[
        str, typer.Option("--master-host", help="Host name or address of the master.")
    ],
    master_port: Annotated[
        int, typer.Option("--master-port", help="The master's --master-bind-port.")
    ] = 5557,
    runs: Annotated[
        int,
        typer.Option("--runs", help="Stop after this many runs (one per strategy); 0: never."),
    ] = 0,
) -> None:
    """Run locust workers for a quotalab master, one after another (Ctrl-C to stop).

    The master (quotalab run --master) sends the strategy, load and target;
    this machine only needs quotalab installed and to reach the master and
    the server. A fresh worker starts for each strategy the master runs.

    Example: quotalab worker --master-host 10.0.0.2 --master-port 5557
    """
    settings = check_worker(master_host, master_port, runs)
    typer.echo(
        f"quotalab worker: serving the master at {settings.master_host}:{settings.master_port}"
        + (f" for {settings.runs} run(s)" if settings.runs else " until stopped (Ctrl-C)")
    )

    def report(run: int, returncode: int) -> None:
        typer.echo(f"run {run} ended (locust exit code {returncode})")

    # A plain kill ends the running locust worker too (serve_runs terminates it on the way out).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve_runs(settings, on_run=report)
    except KeyboardInterrupt:
        typer.echo("stopped")
