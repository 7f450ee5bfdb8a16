"""A strategy's progress bar follows its test, not locust's start-up or a master's wait."""

from __future__ import annotations

import pytest

from quotalab.run.locust_process import Elapsed
from quotalab.run.progress import ProgressState, progress_state


def test_a_master_waiting_for_its_workers_is_neither_running_nor_stopping() -> None:
    """A master 30 s into a wait for its workers, with a 5 s duration: the bar is empty
    and says what it waits for, however long the wait lasts."""
    for waited_s in (0.0, 3.0, 30.0, 119.0):
        shown = progress_state(Elapsed(waited_s), duration_s=5.0, expect_workers=2)
        assert shown == ProgressState(0.0, "waiting for 2 worker(s)")


def test_a_local_locust_starting_up_is_starting() -> None:
    assert progress_state(Elapsed(1.5), duration_s=5.0) == ProgressState(0.0, "starting")


@pytest.mark.parametrize(
    ("test_s", "shown"),
    [
        (0.0, ProgressState(0.0, "running")),
        (3.0, ProgressState(3.0, "running")),
        (5.0, ProgressState(5.0, "stopping")),
        (9.0, ProgressState(5.0, "stopping")),
    ],
)
def test_the_bar_counts_from_the_tests_start(test_s: float, shown: ProgressState) -> None:
    """40 s of waiting for workers before the test do not fill the bar of a 5 s test."""
    assert progress_state(Elapsed(40.0 + test_s, test_s), 5.0, expect_workers=1) == shown
