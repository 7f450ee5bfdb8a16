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

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from quotalab.errors import InputError, QuotalabError
from quotalab.sim.scenario import SimSettings, StrategyRun, run_strategy

__all__ = ["available_cpus", "jobs_for", "run_in_processes"]


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


def _play(settings: SimSettings, name: str, faults_path: str | None) -> tuple[StrategyRun, float]:
    """``run_strategy`` in a worker process, and its wall time there."""
    started = time.perf_counter()
    try:
        run = run_strategy(settings, name, faults_path=faults_path)
    except QuotalabError as error:  # its message is what the user reads, whatever its type
        raise QuotalabError(str(error)) from None
    return run, time.perf_counter() - started


def run_in_processes(
    settings: SimSettings,
    names: Sequence[str],
    jobs: int,
    *,
    faults_path: str | None = None,
    on_done: Callable[[str, StrategyRun, float], None] | None = None,
) -> list[StrategyRun]:
    """``run_strategy(settings, name)`` for each of ``names`` in up to ``jobs`` processes.

    The runs come back in the order of ``names``; ``on_done`` is told each
    strategy's name, run and wall time as it finishes. A process that dies
    (killed, out of memory) is a ``QuotalabError`` naming the strategies still
    being played.
    """
    context = multiprocessing.get_context("spawn")
    runs: dict[str, StrategyRun] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: dict[Future[tuple[StrategyRun, float]], str] = {
            pool.submit(_play, settings, name, faults_path): name for name in names
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    name = pending.pop(future)
                    try:
                        run, wall = future.result()
                    except BrokenProcessPool as error:  # which of them died, nobody says
                        going = ", ".join(n for n in names if n == name or n in pending.values())
                        raise QuotalabError(
                            f"a process simulating {going} stopped before it finished ({error})"
                        ) from None
                    runs[name] = run
                    if on_done is not None:
                        on_done(name, run, wall)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [runs[name] for name in names]
