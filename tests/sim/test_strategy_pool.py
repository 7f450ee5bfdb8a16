"""Strategies played side by side in processes (``quotalab.sim.strategy_pool``) give the
runs one process gives, and say what went wrong in one of them."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection

import pytest

from quotalab.errors import InputError, QuotalabError
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.sim.strategy_pool import available_cpus, jobs_for, run_in_processes
from quotalab.spawned import ctrl_c_held
from tests.sim.test_fast_forward import observable


def test_runs_in_processes_equal_runs_in_this_one() -> None:
    settings = SimSettings(clients=3, duration_s=300.0, traffic="poisson", seed=4)
    names = ["naive", "backoff", "cached"]
    finished: list[str] = []
    runs = run_in_processes(
        settings, names, 2, on_done=lambda name, run, wall: finished.append(name)
    )
    assert [run.strategy for run in runs] == names  # in the order asked, whenever they end
    assert sorted(finished) == sorted(names)
    for name, run in zip(names, runs, strict=True):
        assert observable(run) == observable(run_strategy(settings, name))


def test_an_error_in_a_process_is_raised_with_its_message() -> None:
    settings = SimSettings(clients=2, duration_s=60.0)
    with pytest.raises(QuotalabError) as caught:
        run_in_processes(settings, ["naive", "backoff"], 2, faults_path="/nonexistent.json")
    with pytest.raises(InputError) as alone:
        run_strategy(settings, "naive", faults_path="/nonexistent.json")
    assert str(caught.value) == str(alone.value)


def test_jobs_are_bounded_by_the_strategies_and_zero_means_every_cpu() -> None:
    assert jobs_for(1, 4) == 1
    assert jobs_for(8, 3) == 3
    assert jobs_for(0, 64) == min(available_cpus(), 64)
    with pytest.raises(InputError, match="--jobs must be >= 0"):
        jobs_for(-2, 4)


def _say_sigint_blocked(conn: Connection) -> None:
    conn.send(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))


@pytest.mark.parametrize("held", [True, False])
def test_a_process_started_while_ctrl_c_is_held_never_gets_it(held: bool) -> None:
    """Started under ``ctrl_c_held``, a process has Ctrl-C blocked for good (it cannot
    stop half-started, printing a traceback); the parent gets it back at once."""
    # As its callers do: starting the tracker unblocks Ctrl-C (and would do so under the hold).
    resource_tracker.ensure_running()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(target=_say_sigint_blocked, args=(theirs,))
    if held:
        with ctrl_c_held():
            process.start()
    else:
        process.start()
    theirs.close()
    assert ours.recv() is held
    process.join()
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def test_ctrl_c_is_held_while_another_thread_runs() -> None:
    """A Ctrl-C may reach any thread (a progress bar's): held all the same, raised after."""
    ready, stop = threading.Event(), threading.Event()

    def wait() -> None:
        ready.set()
        stop.wait()

    other = threading.Thread(target=wait, daemon=True)
    other.start()
    ready.wait()
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c_held():
            assert other.ident is not None
            signal.pthread_kill(other.ident, signal.SIGINT)  # to that thread, not this one
            for _ in range(2_000_000):  # time for the signal to be handled, here
                pass
            finished = True
    finally:
        stop.set()
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
