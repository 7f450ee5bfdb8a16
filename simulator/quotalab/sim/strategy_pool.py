"""Strategies simulated side by side, each in a process of its own.

Each strategy plays against its own fresh provider from the same seed
(``run_strategy``): its run depends on nothing another strategy does, so
playing several in separate processes gives exactly the runs one process
would, in the wall time of the longest rather than of them all
(``quotalab simulate --jobs``).

The processes are spawned, not forked: they start clean (the parent may run
threads), import quotalab and the user's own strategy modules from the same
``sys.path`` and working directory, and hand back their runs pickled.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from multiprocessing.process import BaseProcess

from quotalab.errors import InputError, QuotalabError
from quotalab.sim.scenario import SimSettings, StrategyRun, check_strategies, run_strategy
from quotalab.spawned import (
    call_in_child,
    exit_cleanly,
    handled,
    how_it_ended,
    start_child,
    stop_processes,
    watch_parent,
)

__all__ = ["available_cpus", "check_in_process", "jobs_for", "run_in_processes"]


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def jobs_for(jobs: int, strategies: int) -> int:
    """How many processes ``--jobs jobs`` runs for ``strategies`` strategies (0: one per CPU)."""
    if jobs < 0:
        raise InputError(f"--jobs must be >= 0 (0: one per CPU), got {jobs}")
    wanted = available_cpus() if jobs == 0 else jobs
    return max(1, min(wanted, strategies))


def _play(settings: SimSettings, name: str, faults_path: str | None, conn: Connection) -> None:
    """In a child process: ``run_strategy``, its progress, then its run and wall time or the
    error it raised, sent through ``conn``. Ctrl-C is the parent's to handle (it is held
    from the start, ``ctrl_c_held``, and ignored here too): the parent ends the children."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()
    started = time.perf_counter()

    def progress(done: float) -> None:
        conn.send(("progress", done))

    try:
        run = run_strategy(settings, name, faults_path=faults_path, progress=progress)
    except QuotalabError as error:  # its message is what the user reads, whatever its type
        conn.send(("error", str(error)))
    except KeyboardInterrupt:  # raised by a strategy itself: in one process, it aborts the run
        conn.send(("interrupted", None))
    else:
        conn.send(("run", (run, time.perf_counter() - started)))
    conn.close()


class _Pool:
    """The processes playing ``names``, started in their order, at most ``jobs`` at once."""

    def __init__(
        self, settings: SimSettings, names: Sequence[str], faults_path: str | None, jobs: int
    ) -> None:
        self.settings, self.names, self.faults_path, self.jobs = settings, names, faults_path, jobs
        self.playing: dict[Connection, tuple[int, BaseProcess]] = {}  # by its end of the pipe
        self.next = 0  # the index of the next name to start

    def start_next(self) -> str:
        """Start a process for the next name; that name."""
        i, name = self.next, self.names[self.next]
        self.next += 1

        def playing(pipe: Connection, process: BaseProcess) -> None:
            self.playing[pipe] = (i, process)  # before a Ctrl-C meanwhile is raised

        start_child(_play, (self.settings, name, self.faults_path), f"to simulate {name}", playing)
        return name

    def stop(self, pipes: Sequence[Connection]) -> None:
        """End the processes at the other end of ``pipes`` and close those."""
        stop_processes([self.playing.pop(pipe)[1] for pipe in pipes])
        for pipe in pipes:
            pipe.close()

    def play(
        self,
        on_started: Callable[[int], None] | None,
        on_progress: Callable[[str, float], None] | None,
        on_done: Callable[[str, StrategyRun, float], None] | None,
    ) -> list[StrategyRun]:
        """``run_in_processes``, once the pool is made."""
        names, playing = self.names, self.playing
        runs: dict[str, StrategyRun] = {}
        failed: dict[int, BaseException] = {}  # by the index of its name
        try:
            while self.next < len(names) or playing:
                while not failed and self.next < len(names) and len(playing) < self.jobs:
                    name = self.start_next()
                    if on_progress is not None:
                        on_progress(name, 0.0)
                    full = self.next == len(names) or len(playing) == self.jobs
                    if on_started is not None and full:
                        on_started(len(playing))
                        on_started = None
                for ready in connection_wait(list(playing)):
                    assert isinstance(ready, Connection)
                    i, process = playing[ready]
                    name = names[i]
                    try:
                        kind, value = ready.recv()
                    except EOFError:
                        kind, value = "died", None
                    if kind == "progress":
                        if on_progress is not None:
                            on_progress(name, value)
                        continue
                    del playing[ready]
                    ready.close()
                    process.join()
                    code = how_it_ended(process)
                    process.close()
                    if kind == "run":
                        run, wall = value
                        runs[name] = run
                        if on_done is not None:
                            on_done(name, run, wall)
                    elif kind == "interrupted":  # as the strategy itself raised it
                        failed[i] = KeyboardInterrupt()
                    elif kind == "error":
                        failed[i] = QuotalabError(value)
                    else:
                        failed[i] = QuotalabError(
                            f"the process simulating {name} stopped before it finished ({code})"
                        )
                if failed:  # those after the first failure would not have run one by one
                    first = min(failed)
                    self.stop([pipe for pipe, (i, _) in playing.items() if i > first])
                    if not playing:  # none before it is still going either
                        raise failed[first]
        finally:
            self.stop(list(playing))
        return [runs[name] for name in names]


def check_in_process(settings: SimSettings) -> None:
    """``check_strategies(settings)`` in a spawned process: a strategy module or factory
    that ends its process (``os._exit``, a crash) is a ``QuotalabError`` here, in one
    line, where in this process it would end ``quotalab`` with no word of why."""
    call_in_child(check_strategies, (settings,), f"checking {', '.join(settings.strategies)}")


def run_in_processes(
    settings: SimSettings,
    names: Sequence[str],
    jobs: int,
    *,
    faults_path: str | None = None,
    on_started: Callable[[int], None] | None = None,
    on_progress: Callable[[str, float], None] | None = None,
    on_done: Callable[[str, StrategyRun, float], None] | None = None,
) -> list[StrategyRun]:
    """``run_strategy(settings, name)`` for each of ``names`` in up to ``jobs`` processes.

    The runs come back in the order of ``names``. ``on_started`` is told how
    many processes run once the first ones have started, ``on_progress`` each
    strategy's share of virtual time played (0.0 when it starts), ``on_done``
    each strategy's name, run and wall time as it finishes.

    A run's error (a ``QuotalabError`` with its message) or a process that
    dies (killed, out of memory: a ``QuotalabError`` naming its strategy) is
    raised as playing them one by one would: the first in the order of
    ``names``, once every strategy before it has ended. Whatever stops this
    call (an error, Ctrl-C, SIGTERM: ``SystemExit(143)``) ends every process
    it started.
    """
    with handled(signal.SIGTERM, exit_cleanly):
        return _Pool(settings, names, faults_path, jobs).play(on_started, on_progress, on_done)
