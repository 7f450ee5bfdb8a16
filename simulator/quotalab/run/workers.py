"""``quotalab worker``: locust workers for a master on another machine, one per run.

A headless locust master tells its workers to quit when its run ends, and
``quotalab run --master`` starts a fresh master for each strategy. So this
loop starts ``python -m locust --worker`` with the packaged locustfile, waits
for it to end, and starts the next one, until ``runs`` runs are done (0: until
interrupted). Everything the users need (strategy, rate, credentials, ...)
comes from the master.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from quotalab.errors import InputError, QuotalabError
from quotalab.run.locust_process import locust_environment, locustfile_for
from quotalab.run.scenarios import SCENARIOS

# A worker that ends sooner than this with a failure never reached a master.
FAILED_START_S = 3.0
# Pause before the next worker, so it meets the next master, not the one quitting.
BETWEEN_RUNS_S = 1.0


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Where the master listens and how many runs to serve."""

    master_host: str
    master_port: int = 5557
    runs: int = 0


def check_worker(master_host: str, master_port: int, runs: int) -> WorkerSettings:
    """Worker options, or ``InputError`` naming the impossible one."""
    if not master_host.strip():
        raise InputError("--master-host is empty; give the master's host name or address")
    if not 1 <= master_port <= 65535:
        raise InputError(f"--master-port {master_port} is impossible; use 1 to 65535")
    if runs < 0:
        raise InputError(f"--runs {runs} is impossible; use 0 (until stopped) or more")
    return WorkerSettings(master_host.strip(), master_port, runs)


def worker_command(settings: WorkerSettings) -> list[str]:
    """``python -m locust --worker`` with the packaged locustfile."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        locustfile_for(SCENARIOS["steady"]),
        "--worker",
        "--master-host",
        settings.master_host,
        "--master-port",
        str(settings.master_port),
        "--loglevel",
        "WARNING",
    ]


def serve_runs(
    settings: WorkerSettings,
    output: IO[bytes] | None = None,
    on_run: Callable[[int, int], None] | None = None,
) -> int:
    """Run workers one after another; the number of runs served.

    ``on_run(run, returncode)`` is called after each. Raises ``QuotalabError``
    when a worker fails at once (bad host, locust missing), rather than looping.
    """
    served = 0
    while settings.runs == 0 or served < settings.runs:
        started = time.monotonic()
        process = subprocess.Popen(
            worker_command(settings),
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            stdin=subprocess.DEVNULL,
            env=locust_environment(),
        )
        try:
            returncode = process.wait()
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait()
        served += 1
        if on_run is not None:
            on_run(served, returncode)
        if returncode != 0 and time.monotonic() - started < FAILED_START_S:
            raise QuotalabError(
                f"the locust worker exited with {returncode} at once; "
                f"check --master-host {settings.master_host} and that locust is installed"
            )
        if settings.runs == 0 or served < settings.runs:
            time.sleep(BETWEEN_RUNS_S)  # the quitting master goes before the next worker starts
    return served
