"""What a strategy's progress bar shows, from how far its locust run is.

The bar measures the test, not locust: a master may wait minutes for its
workers before its test starts, and that wait is neither running nor stopping.
"""

from __future__ import annotations

from dataclasses import dataclass

from quotalab.run.locust_process import Elapsed


@dataclass(frozen=True, slots=True)
class ProgressState:
    """How much of the strategy's duration to fill, and the word beside the bar."""

    completed_s: float
    status: str


def progress_state(
    elapsed: Elapsed, duration_s: float, expect_workers: int | None = None
) -> ProgressState:
    """The bar of a strategy ``elapsed`` into its locust run of ``duration_s``; with
    ``--master``, ``expect_workers`` names the wait before the test starts."""
    if elapsed.test_s is None:
        if expect_workers is None:
            return ProgressState(0.0, "starting")
        return ProgressState(0.0, f"waiting for {expect_workers} worker(s)")
    if elapsed.test_s < duration_s:
        return ProgressState(elapsed.test_s, "running")
    return ProgressState(duration_s, "stopping")
