"""The machine a benchmark ran on, printed with every table so figures can be compared."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Machine:
    """CPU model, logical cores and Python version, plus when the figures were taken."""

    cpu_model: str
    cores: int
    python: str
    measured_at: str

    def describe(self) -> str:
        """One line for a report header."""
        return (
            f"{self.cpu_model}, {self.cores} cores, Python {self.python}, "
            f"measured {self.measured_at}"
        )


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The first ``model name`` in /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def this_machine() -> Machine:
    """Describe the machine this process runs on, stamped with the current UTC time."""
    return Machine(
        cpu_model=cpu_model(),
        cores=os.cpu_count() or 1,
        python=platform.python_version(),
        measured_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
