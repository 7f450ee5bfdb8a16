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

from quotalab.errors import ThrottledError
from quotalab.outcomes import KIND_NAMES, OK, OTHER, THROTTLED_KINDS, status_kind
from quotalab.run.live_tally import Tally
from quotalab.strategies.raised_calls import raised_call

NOT_A_STATUS = "not_an_http_status"
"""The reason of a call whose ``call_api`` returned no HTTP status (``status_of``)."""


class Recorder:
    """This process's tally."""

    def __init__(self) -> None:
        self.tally = Tally()

    def record_own_call(self, at_s: float, answer: object, latency_ms: float) -> None:
        """Count one call of a client that does its own HTTP and returned ``answer``.

        Its requests are the server's to count (the client hides them), so only
        the call is counted here: its ending and its latency, as purpose ``call``.
        An answer that is no HTTP status is a failed call (``NOT_A_STATUS``).
        """
        status = status_of(answer)
        if status is None:
            self.tally.record_exchange(at_s, "call", KIND_NAMES[OTHER], latency_ms)
            self.tally.record_flow(NOT_A_STATUS, message=not_a_status_message(answer))
            return
        kind = status_kind(status)
        self.tally.record_exchange(at_s, "call", KIND_NAMES[kind], latency_ms)
        throttled = kind in THROTTLED_KINDS
        self.tally.record_flow("ok" if kind == OK else f"http_{status}", throttled=throttled)

    def record_own_failure(self, at_s: float, error: BaseException, latency_ms: float) -> None:
        """Count one call of an own client that raised: a failed call, classified."""
        raised = raised_call(error)
        self.tally.record_exchange(at_s, "call", raised.kind_name, latency_ms)
        self.tally.record_flow(raised.reason, throttled=raised.throttled, message=raised.message)

    def record_strategy_error(self, error: Exception) -> None:
        """Count one flow of a sans-I/O strategy that raised: a failed call, by exception type.

        A ``StrategyError`` gave up as designed; any other exception (a custom
        strategy's own, an SDK's) is classified like an own client's.
        """
        raised = raised_call(error)
        self.tally.record_flow(
            raised.reason,
            throttled=isinstance(error, ThrottledError) or raised.throttled,
            message=raised.message,
        )

    def write(self, directory: str) -> Path:
        """Write the tally to this process's file."""
        stem = f"tally-{socket.gethostname()}-{os.getpid()}"
        return write_tally_file(directory, stem, self.tally.to_json())


def status_of(answer: object) -> int | None:
    """``call_api``'s answer as an HTTP status: an int from 100 to 599, or a response
    whose ``status_code``/``status`` is one; ``None`` for anything else.

    ``None``, ``"200"``, ``200.0``, ``True``, ``0`` or ``10**30`` are no status:
    the call counts as failed (``NOT_A_STATUS``), never as a success.
    """
    for value in (answer, _attribute(answer, "status_code"), _attribute(answer, "status")):
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def _attribute(answer: object, name: str) -> object:
    try:
        return getattr(answer, name, None)
    except Exception:  # a property that raises is no status
        return None


def not_a_status_message(answer: object) -> str:
    """The first message of a ``NOT_A_STATUS`` call: what ``call_api`` returned instead."""
    try:
        shown = repr(answer)
    except Exception:
        shown = f"a {type(answer).__name__}"
    if len(shown) > 60:
        shown = shown[:59] + "…"
    return (
        f"call_api returned {shown}, which is not an HTTP status "
        "(expected an int from 100 to 599, or a response with .status_code)"
    )


def write_tally_file(directory: str, stem: str, data: dict[str, Any]) -> Path:
    """Write ``<directory>/<stem>.json`` atomically (no reader sees half a file)."""
    return write_json_file(directory, f"{stem}.json", data)


def write_json_file(directory: str, name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON to ``<directory>/<name>`` atomically."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(data), "utf-8")
    os.replace(partial, target)
    return target
