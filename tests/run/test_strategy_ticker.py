"""A strategy's ticks: the token timeline and the series count from its test's start."""

from __future__ import annotations

import os
import time
from pathlib import Path

from quotalab.run.issuance_timeline import IssuanceSampler
from quotalab.run.locust_process import Elapsed, since_touched_s
from quotalab.run.orchestrate import StartOfTest, strategy_ticker


def test_a_masters_wait_for_its_workers_is_not_in_the_token_timeline() -> None:
    readings = iter([0, 0, 1, 3])
    sampler = IssuanceSampler(lambda: next(readings))
    start = StartOfTest(1_000.0)
    clock = iter([1_000.4, 1_014.0, 1_014.6, 1_015.0])
    seen: list[tuple[str, Elapsed]] = []
    on_tick = strategy_ticker(
        lambda strategy, elapsed: seen.append((strategy, elapsed)),
        "cached",
        sampler,
        start,
        now=lambda: next(clock),
    )
    on_tick(Elapsed(0.4))  # locust starting
    on_tick(Elapsed(14.0))  # a master waiting for its worker
    on_tick(Elapsed(14.6, 0.6))  # the test started 0.6 s ago: the first token
    on_tick(Elapsed(15.0, 1.0))
    assert sampler.times == [0.6, 1.0, 1.0]
    assert start.seen and start.at_s == 1_014.0
    assert [strategy for strategy, _ in seen] == ["cached"] * 4


def test_a_test_never_seen_to_start_counts_from_locusts_start() -> None:
    start = StartOfTest(1_000.0)
    start.see(Elapsed(3.0), 1_003.0)
    assert not start.seen and start.at_s == 1_000.0
    start.see(Elapsed(5.0, 2.0), 1_005.0)
    start.see(Elapsed(6.0, 3.5), 1_006.0)  # the first start seen stands
    assert start.seen and start.at_s == 1_003.0


def test_the_tests_start_is_when_locust_marked_it_not_when_a_poll_saw_it(tmp_path: Path) -> None:
    """The series count from the marker's own time: a poll that sees it late would
    start them after the test's first requests, and drop those."""
    marker = tmp_path / "started"
    marker.touch()
    os.utime(marker, (time.time() - 30.0, time.time() - 30.0))
    assert 29.0 < since_touched_s(marker, at_most_s=120.0) < 60.0
    assert since_touched_s(marker, at_most_s=2.5) == 2.5  # not before locust started
    os.utime(marker, (time.time() + 30.0, time.time() + 30.0))
    assert since_touched_s(marker, at_most_s=120.0) == 0.0  # a wall clock that stepped back
