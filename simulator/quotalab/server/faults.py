"""Injected trouble: 503s by probability or schedule, added latency, clock skew.

Decisions use a seeded RNG so a run can be replayed; schedules are seconds
since the provider started (or was last reset), on its clock without skew.
The core never sleeps: it reports the latency and the adapter waits.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from quotalab.profiles.profile_model import FaultSpec
from quotalab.profiles.schema import fault_from_json

NO_FAULT = FaultSpec()
__all__ = ["NO_FAULT", "FaultPlan", "fault_from_json"]


class FaultPlan:
    """The faults in force, changeable at run time through ``/_admin/faults``."""

    def __init__(self, faults: Mapping[str, FaultSpec], seed: int, started_at: float) -> None:
        self.faults = dict(faults)
        self.seed = seed
        self.started_at = started_at
        self._rng = random.Random(seed)

    def restart(self, now: float) -> None:
        """Schedules count from ``now``; the RNG replays from its seed."""
        self.started_at = now
        self._rng = random.Random(self.seed)

    def get(self, endpoint: str) -> FaultSpec:
        return self.faults.get(endpoint, NO_FAULT)

    def unavailable(self, spec: FaultSpec, now: float) -> bool:
        """Whether this request gets an injected 503."""
        if spec.schedule:
            elapsed = now - self.started_at
            if any(start <= elapsed < end for start, end in spec.schedule):
                return True
        return spec.probability > 0 and self._rng.random() < spec.probability

    def to_json(self) -> dict[str, Any]:
        return {
            name: {**asdict(spec), "schedule": [list(pair) for pair in spec.schedule]}
            for name, spec in self.faults.items()
        }
