"""Run locust for one strategy in its own process and read back its tally.

locust monkey-patches the standard library with gevent when imported, so it
never runs inside quotalab's process: each strategy gets a fresh
``python -m locust --headless`` whose quotalab listeners write each process's
tally to its own JSON file at quit; the files are added up here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import quotalab
from quotalab.errors import QuotalabError
from quotalab.run.live_tally import Tally
from quotalab.run.scenarios import Scenario
from quotalab.run.settings import MasterSettings
from quotalab.run.worker_roll import STARTED_WORKERS_FILE, WorkerRoll, worker_roll

STOP_TIMEOUT_S = 5
# locust's own start-up until its test starts (--processes forks more).
STARTUP_S = 60.0
STOP_GRACE_S = 10.0
"""After a strategy's time and locust's --stop-timeout, how long locust may take to quit.

Past it (a ``call_api`` that blocks without yielding, e.g. a busy loop, keeps
locust from stopping) its whole process group is terminated and the run fails
in one line: a strategy overruns its time by at most STOP_TIMEOUT_S + STOP_GRACE_S
+ KILL_WAIT_S."""
MASTER_GATHER_S = 30.0
"""A master's extra time to gather its workers' tallies (``quotalab.locust.gather``)."""
KILL_WAIT_S = 3.0
"""How long terminated processes get before they are killed."""
EXIT_GRACE_S = 5.0
"""Seconds locust may take to exit once every tally is written: longer, and something of
the client's own keeps it alive (a thread that is no daemon); it is stopped and its
tallies are kept."""
STARTED_MARKER = "started"
"""The file the locustfile leaves in the tally directory when its test starts."""
# How long a master waits for its workers to connect before it gives up.
WORKER_WAIT_S = 120
ENV_CLIENT_SECRET = "QUOTALAB_CLIENT_SECRET"
"""The client secret reaches locust here: a command line is visible to every user in ps."""


@dataclass(frozen=True, slots=True)
class ClientArgs:
    """How the locust users reach the provider: its style, paths and one client's credentials."""

    style: str
    token_path: str
    api_path: str
    client_id: str
    client_secret: str
    audience: str = ""
    scope: str = ""
    client_auth: str = "client_secret_post"
    retry_budget_s: float = 120.0
    cooldown_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Elapsed:
    """How far one locust run is: seconds since locust started, and since its test
    started (None until then: locust starting, a master waiting for its workers)."""

    locust_s: float
    test_s: float | None = None


@dataclass(frozen=True, slots=True)
class LocustJob:
    """One strategy's locust run."""

    strategy: str
    scenario: Scenario
    host: str
    users: int
    rate: float
    duration_s: float
    processes: int
    client: ClientArgs
    tally_dir: Path
    log_file: Path
    master: MasterSettings | None = None

    @property
    def tally_sources(self) -> int:
        """How many tally files the run must leave: one per process or worker."""
        return self.master.expect_workers if self.master is not None else self.processes


def locustfile_for(scenario: Scenario) -> str:
    """The packaged locustfile for ``scenario`` (works after ``pip install``)."""
    name = "spike_locustfile.py" if scenario.shape == "spike" else "locustfile.py"
    return str(resources.files("quotalab.locust").joinpath(name))


def locust_command(job: LocustJob) -> list[str]:
    """The ``python -m locust`` command line for ``job``."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        locustfile_for(job.scenario),
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--host",
        job.host,
        "-u",
        str(job.users),
        "-r",
        str(job.users),
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--strategy",
        job.strategy,
        "--scenario",
        job.scenario.name,
        "--rate",
        repr(job.rate),
        "--provider-style",
        job.client.style,
        "--token-path",
        job.client.token_path,
        "--api-path",
        job.client.api_path,
        "--client-id",
        job.client.client_id,
        "--audience",
        job.client.audience,
        "--scope",
        job.client.scope,
        "--client-auth",
        job.client.client_auth,
        "--retry-budget-s",
        repr(job.client.retry_budget_s),
        "--cooldown-s",
        repr(job.client.cooldown_s),
        "--tally-dir",
        str(job.tally_dir),
    ]
    run_s = max(1, round(job.duration_s))
    if job.master is not None:
        # The master stops the test itself and gathers each worker's tally (gather.py).
        command += [
            "--master",
            "--master-bind-host",
            job.master.bind_host,
            "--master-bind-port",
            str(job.master.bind_port),
            "--expect-workers",
            str(job.master.expect_workers),
            "--expect-workers-max-wait",
            str(WORKER_WAIT_S),
            "--stop-after",
            str(run_s),
        ]
    else:
        command += ["-t", f"{run_s}s"]
    if job.processes > 1:
        # locust's implicit master would listen on every interface at 5557;
        # its forked workers find it on loopback at a port no one else holds.
        port = str(loopback_port())
        command += ["--processes", str(job.processes), "--master-bind-host", "127.0.0.1"]
        command += ["--master-bind-port", port, "--master-port", port]
    return command


def loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def locust_environment(client_secret: str | None = None) -> dict[str, str]:
    """This environment, with the working directory, then the one holding ``quotalab``,
    first on PYTHONPATH: a ``module:factory`` spec resolves from the working
    directory, as it does in this process (``quotalab.strategies.own_client``).

    ``client_secret`` travels in ``QUOTALAB_CLIENT_SECRET``; a master forwards
    it to its workers with locust's other options.
    """
    env = dict(os.environ)
    if client_secret is not None:
        env[ENV_CLIENT_SECRET] = client_secret
    root = str(Path(quotalab.__file__).resolve().parent.parent)
    paths = (os.getcwd(), root, env.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def run_locust(job: LocustJob, on_tick: Callable[[Elapsed], None] | None = None) -> Tally:
    """Run ``job`` to the end, calling ``on_tick(elapsed)`` as it goes; its tally.

    locust runs in a process group of its own, stopped as a whole however this
    function ends (an error, Ctrl-C, SIGTERM), so no worker is left behind.
    Raises ``QuotalabError`` when locust fails to start, does not stop within
    ``STOP_GRACE_S`` of its end, or a process writes no tally.
    """
    job.tally_dir.mkdir(parents=True, exist_ok=True)
    markers = (job.tally_dir / STARTED_MARKER, job.tally_dir / STARTED_WORKERS_FILE)
    for stale in (*_tally_files(job), *markers):
        stale.unlink(missing_ok=True)
    job.log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + STARTUP_S + (WORKER_WAIT_S if job.master is not None else 0)
    test_started_at: float | None = None
    written_at: float | None = None  # when every tally was there
    lingered = False
    with job.log_file.open("wb") as log:
        process = subprocess.Popen(
            locust_command(job),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=locust_environment(job.client.client_secret),
            start_new_session=True,
        )
        try:
            while process.poll() is None:
                now = time.monotonic()
                marker = job.tally_dir / STARTED_MARKER
                if test_started_at is None and marker.exists():
                    # When locust touched it, not when this poll saw it: the run's
                    # series count from there, and lose nothing of its first second.
                    test_started_at = now - since_touched_s(marker, now - started)
                    deadline = now + job.duration_s + STOP_TIMEOUT_S + STOP_GRACE_S
                    if job.master is not None:
                        deadline += MASTER_GATHER_S
                test_started = test_started_at is not None
                if test_started and written_at is None and _tallies_written(job):
                    written_at = now
                if written_at is not None and now > written_at + EXIT_GRACE_S:
                    lingered = True  # its results are in: what keeps it alive is stopped below
                    break
                if now > deadline:
                    when = "after its run" if test_started else "to start its test"
                    raise QuotalabError(
                        f"locust for {job.strategy!r} took too long {when} and was stopped "
                        "(a call that blocks without returning?); see "
                        f"{job.log_file}"
                    )
                if on_tick is not None:
                    test_s = None if test_started_at is None else now - test_started_at
                    on_tick(Elapsed(now - started, test_s))
                time.sleep(0.2)  # polling a child process, not waiting for a window
        finally:
            stop_group(process)
    tally = read_tallies(job, process.returncode)
    tally.lingered = lingered
    return tally


def since_touched_s(path: Path, at_most_s: float) -> float:
    """Seconds since ``path`` was last written (its mtime on the wall clock), at least 0
    and at most ``at_most_s``."""
    return min(max(0.0, time.time() - path.stat().st_mtime), at_most_s)


def _tally_files(job: LocustJob) -> list[Path]:
    """The tallies written so far, one per process or worker (each file is whole:
    ``write_tally_file`` renames it into place)."""
    return sorted(job.tally_dir.glob("tally-*.json"))


def _tallies_written(job: LocustJob) -> bool:
    """Whether every process (or every worker the test started with) has written its tally."""
    if job.master is not None:
        roll = _worker_roll(job)
        return roll is not None and not roll.lost
    return len(_tally_files(job)) >= job.tally_sources


def _worker_roll(job: LocustJob) -> WorkerRoll | None:
    """A master's workers compared with its tally files; None before its test started
    (no list of the workers it started with)."""
    path = job.tally_dir / STARTED_WORKERS_FILE
    try:
        started = json.loads(path.read_text("utf-8"))["started"]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        raise QuotalabError(f"{path}: unreadable list of workers ({error})") from None
    if not isinstance(started, list) or not all(isinstance(w, str) for w in started):
        raise QuotalabError(f"{path}: unreadable list of workers (not a list of ids)")
    return worker_roll(started, (file.stem for file in _tally_files(job)))


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill, every process of ``process``'s group still running."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            break  # the whole group is gone
        try:
            process.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            continue
        if signum == signal.SIGTERM:
            # The leader is gone; forked workers may not be: kill what is left.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            break
    if process.poll() is None:
        process.wait()


def read_tallies(job: LocustJob, returncode: int | None) -> Tally:
    """Add up the tally every user-running locust process (or worker) left.

    A master's tallies must come from the workers its test started with, each: a
    worker lost mid-run, or a replacement that joined the running test, leaves
    client counts that are not the whole run's, and is a ``QuotalabError``."""
    roll = _worker_roll(job) if job.master is not None else None
    if roll is not None and roll.problem:
        raise QuotalabError(
            f"locust for {job.strategy!r}: {roll.problem}, so the workers' counts are not "
            f"the whole run's; see {job.log_file}"
        )
    files = _tally_files(job)
    if len(files) < job.tally_sources:
        sources = "workers sent" if job.master is not None else "processes wrote"
        raise QuotalabError(
            f"locust for {job.strategy!r} exited with {returncode}; {len(files)} of "
            f"{job.tally_sources} {sources} results; see {job.log_file}: "
            f"{last_line(job.log_file)}"
        )
    total = Tally()
    for path in files:
        try:
            total.merge(Tally.from_json(json.loads(path.read_text("utf-8"))))
        except ValueError as error:
            raise QuotalabError(f"{path}: unreadable locust results ({error})") from None
    return total


def last_line(path: Path) -> str:
    """The last non-empty line of a log, for a one-line error."""
    try:
        lines = [line for line in path.read_text("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""
