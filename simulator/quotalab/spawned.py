"""Spawned processes for the user's own code: started clean, stopped for sure.

A strategy module or factory may end the process it runs in (``os._exit``, a
crash in a C extension) or leave threads behind (a token refresher started in
its constructor). Run in ``quotalab``'s own process, the first ends it with no
word of why and the second keeps it alive, and fetching tokens, after its
report. ``call_in_child`` runs such a function in a spawned process instead
and ends that process, threads and all, once it has answered.

Also the process control both it and ``quotalab.sim.strategy_pool`` use:
Ctrl-C held while processes start, SIGTERM turned into a clean exit, children
that end when their parent is gone, and processes stopped for sure.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from multiprocessing.process import BaseProcess
from typing import Any

from quotalab.errors import QuotalabError

__all__ = [
    "STOP_GRACE_S",
    "call_in_child",
    "ctrl_c_held",
    "exit_cleanly",
    "handled",
    "how_it_ended",
    "start_child",
    "stop_processes",
    "watch_parent",
]

STOP_GRACE_S = 2.0
"""How long a process told to stop (SIGTERM) has before it is killed."""


@contextlib.contextmanager
def handled(signum: int, handler: Callable[[int, object], None]) -> Iterator[bool]:
    """``handler`` takes ``signum`` meanwhile; yields False, and sets nothing, outside the
    main thread (no signal handler can be set there)."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous = signal.signal(signum, handler)
    try:
        yield True
    finally:
        if previous is None:  # set outside Python, it cannot be put back: Python's own then
            previous = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, previous)


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Ctrl-C held back meanwhile and raised after (``KeyboardInterrupt``); a process
    started meanwhile inherits it blocked, for good, and never stops half-started on it.

    A Ctrl-C may reach any thread (a progress bar's, say), so it is both blocked
    in this one and caught by a handler that only notes it. In a thread other
    than the main one, nothing is held.
    """
    caught: list[int] = []
    with handled(signal.SIGINT, lambda signum, frame: caught.append(signum)) as held:
        blocked = held and hasattr(signal, "pthread_sigmask")  # POSIX
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if blocked else set()
        try:
            yield
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, before)  # one pending is noted now
    if caught:
        raise KeyboardInterrupt


def exit_cleanly(signum: int, frame: object) -> None:
    """SIGTERM (a supervisor stopping ``quotalab``) exits through the callers' cleanup
    (``SystemExit(143)``), so the processes they started end first."""
    raise SystemExit(128 + signum)


def watch_parent() -> None:
    """In a child process: end it as soon as its parent is gone, however that ended."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch(sentinel: int) -> None:
        connection_wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, args=(parent.sentinel,), daemon=True).start()


def how_it_ended(process: BaseProcess) -> str:
    """``exit code N`` or ``killed by SIGNAME``, for a message."""
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


def stop_processes(processes: Sequence[BaseProcess]) -> None:
    """End ``processes`` (terminated, killed if they outlast ``STOP_GRACE_S``) and free
    what they hold; a Ctrl-C meanwhile waits until they are gone."""
    with ctrl_c_held():
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
            process.close()


def _answer(target: Callable[..., Any], args: tuple[Any, ...], conn: Connection) -> None:
    """In a child process: ``target(*args)``, its value or the error it raised sent through
    ``conn``; then the process ends at once, with any thread the user's code started."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    watch_parent()
    try:
        value = target(*args)
    except QuotalabError as error:  # its message is what the user reads, whatever its type
        answer: tuple[str, Any] = ("error", str(error))
    except KeyboardInterrupt:  # raised by the user's code itself
        answer = ("interrupted", None)
    else:
        answer = ("done", value)
    conn.send(answer)
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def start_child(
    target: Callable[..., None],
    args: tuple[Any, ...],
    what: str,
    started: Callable[[Connection, BaseProcess], None],
) -> tuple[Connection, BaseProcess]:
    """A spawned (daemon) process running ``target(*args, conn)``, and this end of its
    pipe (EOF once the process is gone). ``started`` is told of both before a Ctrl-C
    held meanwhile is raised, so the caller can always stop what it started. A system
    that refuses is a ``QuotalabError``: ``cannot start a process <what>: ...``."""
    # Before Ctrl-C is held: starting the tracker (on the first spawn) unblocks it.
    resource_tracker.ensure_running()
    context = multiprocessing.get_context("spawn")
    try:
        ours, theirs = context.Pipe(duplex=False)
    except OSError as error:
        raise QuotalabError(f"cannot start a process {what}: {error}") from None
    process: BaseProcess = context.Process(target=target, args=(*args, theirs), daemon=True)
    try:
        with ctrl_c_held():
            process.start()
            started(ours, process)
    except OSError as error:
        ours.close()
        raise QuotalabError(f"cannot start a process {what}: {error}") from None
    finally:
        theirs.close()  # the child holds its end: EOF here when it is gone
    return ours, process


def call_in_child(target: Callable[..., Any], args: tuple[Any, ...], what: str) -> Any:
    """``target(*args)`` in a spawned process (``target`` a module-level function, its
    arguments and value picklable); its value, or the ``QuotalabError`` it raised.

    A process that ends without answering is a one-line ``QuotalabError`` (``the
    process <what> stopped before it finished (exit code 0)``); one that answers
    is ended, with whatever threads it left running. Ctrl-C and SIGTERM end it too.
    """
    started: list[tuple[Connection, BaseProcess]] = []
    with handled(signal.SIGTERM, exit_cleanly):
        try:
            ours, process = start_child(
                _answer, (target, args), what, lambda pipe, child: started.append((pipe, child))
            )
            try:
                kind, value = ours.recv()
            except EOFError:
                kind, value = "died", None
            process.join(STOP_GRACE_S)
            ended = how_it_ended(process)
        finally:
            for pipe, _ in started:
                pipe.close()
            stop_processes([child for _, child in started])
    if kind == "error":
        raise QuotalabError(value)
    if kind == "interrupted":
        raise KeyboardInterrupt
    if kind != "done":
        raise QuotalabError(f"the process {what} stopped before it finished ({ended})")
    return value
