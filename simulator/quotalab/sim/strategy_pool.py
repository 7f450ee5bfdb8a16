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

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from multiprocessing.process import BaseProcess

from quotalab.errors import InputError, QuotalabError
from quotalab.sim.scenario import SimSettings, StrategyRun, run_strategy

__all__ = ["available_cpus", "ctrl_c_held", "jobs_for", "run_in_processes"]


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


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Ctrl-C held back meanwhile (delivered after): a process started meanwhile
    inherits it held, for good, and never stops half-started on it."""
    if not hasattr(signal, "pthread_sigmask"):  # not on a POSIX system
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _play(settings: SimSettings, name: str, faults_path: str | None, conn: Connection) -> None:
    """In a child process: ``run_strategy`` and its wall time, or the error it raised,
    sent back through ``conn``. Ctrl-C is the parent's to handle (``ctrl_c_held``): it
    ends the children."""
    started = time.perf_counter()
    try:
        run = run_strategy(settings, name, faults_path=faults_path)
    except QuotalabError as error:  # its message is what the user reads, whatever its type
        conn.send(("error", str(error)))
    else:
        conn.send(("run", (run, time.perf_counter() - started)))
    conn.close()


def run_in_processes(
    settings: SimSettings,
    names: Sequence[str],
    jobs: int,
    *,
    faults_path: str | None = None,
    on_started: Callable[[int], None] | None = None,
    on_done: Callable[[str, StrategyRun, float], None] | None = None,
) -> list[StrategyRun]:
    """``run_strategy(settings, name)`` for each of ``names`` in up to ``jobs`` processes.

    The runs come back in the order of ``names``; ``on_started`` is told how
    many processes run once the first ones have started, ``on_done`` each
    strategy's name, run and wall time as it finishes. An error a run raises
    is raised here (as a ``QuotalabError`` with its message); a process that
    dies (killed, out of memory) is a ``QuotalabError`` naming its strategy.
    Whatever stops this call (an error, Ctrl-C) ends every process it started.
    """
    context = multiprocessing.get_context("spawn")
    waiting = list(names)
    playing: dict[Connection, tuple[str, BaseProcess]] = {}
    runs: dict[str, StrategyRun] = {}
    try:
        while waiting or playing:
            while waiting and len(playing) < jobs:
                name = waiting.pop(0)
                ours, theirs = context.Pipe(duplex=False)
                started: BaseProcess = context.Process(
                    target=_play, args=(settings, name, faults_path, theirs), daemon=True
                )
                with ctrl_c_held():
                    started.start()
                theirs.close()  # the child holds its end: EOF here when it is gone
                playing[ours] = (name, started)
                if on_started is not None and (not waiting or len(playing) == jobs):
                    on_started(len(playing))
                    on_started = None
            for ready in connection_wait(list(playing)):
                assert isinstance(ready, Connection)
                name, process = playing.pop(ready)
                try:
                    kind, value = ready.recv()
                except EOFError:
                    process.join()
                    raise QuotalabError(
                        f"the process simulating {name} stopped before it finished "
                        f"(exit code {process.exitcode})"
                    ) from None
                finally:
                    ready.close()
                process.join()
                if kind == "error":
                    raise QuotalabError(value)
                run, wall = value
                runs[name] = run
                if on_done is not None:
                    on_done(name, run, wall)
    finally:
        for ours, (_, process) in playing.items():
            process.terminate()
            process.join()
            ours.close()
    return [runs[name] for name in names]
