"""``SpikeShape``: base users, a burst of ``spike_factor`` x users mid-run, base again."""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

from quotalab.run.scenarios import SCENARIOS, spike_users


class SpikeShape(LoadTestShape):
    """Reads ``-u`` and ``-t`` from locust's options; stops when the run time is up."""

    def tick(self) -> tuple[int, float] | None:
        runner: Any = self.runner
        options = runner.environment.parsed_options
        scenario = SCENARIOS["spike"]
        duration_s = float(options.run_time or scenario.duration_s)
        elapsed_s: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if elapsed_s >= duration_s:
            return None
        users = spike_users(options.num_users, scenario.spike_factor, elapsed_s, duration_s)
        return users, float(users)  # spawn the whole step within a second
