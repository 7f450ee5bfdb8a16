"""Locustfile add-on: records the locust process's CPU time between test start and stop.

Loaded next to the measured locustfile (``-f bench/locust_cpu.py,other.py``) so the
benchmark can leave locust's start-up and imports out of the per-request CPU cost.
Writes ``{"cpu_s": ..., "wall_s": ...}`` to the path in ``QUOTALAB_BENCH_CPU_FILE``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from locust import events

_marks: dict[str, float] = {}


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _started(**_kwargs: Any) -> None:
    _marks["cpu"] = time.process_time()
    _marks["wall"] = time.perf_counter()


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _stopped(**_kwargs: Any) -> None:
    target = os.environ.get("QUOTALAB_BENCH_CPU_FILE")
    if not target or "cpu" not in _marks:
        return
    Path(target).write_text(
        json.dumps(
            {
                "cpu_s": time.process_time() - _marks["cpu"],
                "wall_s": time.perf_counter() - _marks["wall"],
            }
        )
    )
