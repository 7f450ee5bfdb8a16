"""Where a locust process keeps its tally, and the file it leaves at quit.

Every process that runs users (the standalone process, or each worker of
``--processes N`` / ``--worker``) writes what it counted itself to its own
``tally-<host>-<pid>.json`` in the tally directory when it quits; the run adds
the files up. Nothing travels through the master, so no late report is lost.
(Master/worker runs across machines gather the tallies on the master instead,
with an explicit stop and answer: see ``gather``.)
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from quotalab.errors import StrategyError, ThrottledError
from quotalab.outcomes import KIND_NAMES, OK, THROTTLED_KINDS, status_kind
from quotalab.run.live_tally import Tally
from quotalab.strategies.raised_calls import raised_call


class Recorder:
    """This process's tally."""

    def __init__(self) -> None:
        self.tally = Tally()

    def record_own_call(self, at_s: float, answer: object, latency_ms: float) -> None:
        """Count one call of a client that does its own HTTP and returned ``answer``.

        Its requests are the server's to count (the client hides them), so only
        the call is counted here: its ending and its latency, as purpose ``call``.
        """
        status = status_of(answer)
        kind = status_kind(status)
        self.tally.record_exchange(at_s, "call", KIND_NAMES[kind], latency_ms)
        throttled = kind in THROTTLED_KINDS
        self.tally.record_flow("ok" if kind == OK else f"http_{status}", throttled=throttled)

    def record_own_failure(self, at_s: float, error: BaseException, latency_ms: float) -> None:
        """Count one call of an own client that raised: a failed call, classified."""
        raised = raised_call(error)
        self.tally.record_exchange(at_s, "call", raised.kind_name, latency_ms)
        self.tally.record_flow(raised.reason, throttled=raised.throttled, message=raised.message)

    def record_strategy_error(self, error: StrategyError) -> None:
        """Count one flow of a quotalab strategy that gave up, with its reason and message."""
        self.tally.record_flow(
            type(error).__name__,
            throttled=isinstance(error, ThrottledError),
            message=raised_call(error).message,
        )

    def write(self, directory: str) -> Path:
        """Write the tally to this process's file."""
        stem = f"tally-{socket.gethostname()}-{os.getpid()}"
        return write_tally_file(directory, stem, self.tally.to_json())


def status_of(answer: object) -> int:
    """``call_api``'s answer as a status: an int, or anything with ``status_code``/``status``.

    Anything else (``None``, a string) is 0: no status, a failed call.
    """
    for value in (answer, getattr(answer, "status_code", None), getattr(answer, "status", None)):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def write_tally_file(directory: str, stem: str, data: dict[str, Any]) -> Path:
    """Write ``<directory>/<stem>.json`` atomically (no reader sees half a file)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.json"
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(data), "utf-8")
    os.replace(partial, target)
    return target
