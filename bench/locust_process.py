"""Run locust headless in a subprocess and read back its request count and CPU time.

Locust monkey-patches the standard library with gevent, so it never runs inside a
benchmark process that also starts servers. ``bench/locust_cpu.py`` is loaded next
to the measured locustfile and reports the CPU seconds the locust process spent
between test start and stop, which is what "locust overhead" means: the work the
generator does per request, whichever side of the loopback is the bottleneck.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.processes import REPO_ROOT, python_env


@dataclass(frozen=True, slots=True)
class LocustRun:
    """What one headless locust run did."""

    requests: int
    failures: int
    rps: float
    cpu_s: float

    @property
    def cpu_us_per_request(self) -> float:
        """Locust's own CPU microseconds per request sent."""
        return self.cpu_s / self.requests * 1e6 if self.requests else 0.0


def aggregated_row(stats_csv: Path) -> dict[str, str]:
    """The ``Aggregated`` row of locust's ``*_stats.csv``."""
    with stats_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") == "Aggregated":
                return row
    raise RuntimeError(f"no Aggregated row in {stats_csv}")


CPU_HOOK = Path(__file__).resolve().parent / "locust_cpu.py"


def run_locust(
    locustfile: Path,
    host: str,
    *,
    users: int,
    duration_s: float,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> LocustRun:
    """Run one headless locust process against ``host`` and measure it."""
    with tempfile.TemporaryDirectory(prefix="quotalab-locust-") as tmp:
        prefix = Path(tmp) / "run"
        argv = [
            sys.executable, "-m", "locust", "-f", f"{CPU_HOOK},{locustfile}", "--headless",
            "-u", str(users), "-r", str(users), "-t", f"{max(1, round(duration_s))}s",
            "--host", host, "--csv", str(prefix), "--only-summary",
            "--loglevel", "WARNING", "--stop-timeout", "2", *extra,
        ]  # fmt: skip
        cpu_file = Path(tmp) / "cpu.json"
        log_path = Path(tmp) / "locust.log"
        with log_path.open("wb") as log:
            done = subprocess.run(
                argv,
                env=python_env({**(env or {}), "QUOTALAB_BENCH_CPU_FILE": str(cpu_file)}),
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=duration_s + 60,
                check=False,
            )
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            output = log_path.read_text()[-3000:]
            raise RuntimeError(f"locust exited {done.returncode} without stats:\n{output}")
        if not cpu_file.exists():
            raise RuntimeError(f"locust did not load the CPU hook:\n{log_path.read_text()[-3000:]}")
        cpu_s = float(json.loads(cpu_file.read_text())["cpu_s"])
        row = aggregated_row(stats)
    return LocustRun(
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        rps=float(row["Requests/s"]),
        cpu_s=cpu_s,
    )
