"""Where a locust process keeps its tally, and how workers' tallies reach the master.

A worker drains its tally into every report to the master (locust's
``report_to_master`` event); the master adds each report up (``worker_report``)
and writes the sum at quit. A standalone process writes its own tally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from simulator.run.tally import Tally, classify
from simulator.wire import HttpResponse

REPORT_KEY = "quotalab_tally"


class Recorder:
    """This process's tally plus whatever its workers reported."""

    def __init__(self) -> None:
        self.tally = Tally()
        self.received = Tally()

    def report(self, data: dict[str, Any]) -> None:
        """Worker side: move what was counted since the last report into ``data``."""
        # Cleared in place: drivers hold this tally. No greenlet switch can come between.
        data[REPORT_KEY] = self.tally.to_json()
        self.tally.exchanges.clear()
        self.tally.latency.clear()
        self.tally.flows.clear()

    def receive(self, data: dict[str, Any]) -> None:
        """Master side: add one worker report."""
        document = data.get(REPORT_KEY)
        if document is not None:
            self.received.merge(Tally.from_json(document))

    def record_own_call(self, at_s: float, status: int, latency_ms: float) -> None:
        """Count one call of a client that does its own HTTP."""
        outcome = classify(HttpResponse(status))
        self.tally.record_exchange(at_s, "api", outcome, latency_ms)
        self.tally.record_flow("ok" if outcome == "ok" else f"http_{status}")

    def merged(self) -> Tally:
        """Everything counted here and received from workers."""
        total = Tally()
        total.merge(self.tally)
        total.merge(self.received)
        return total

    def write(self, path: str) -> None:
        """Write the merged tally as JSON, atomically (a reader never sees half a file)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        partial.write_text(json.dumps(self.merged().to_json()), "utf-8")
        os.replace(partial, target)
