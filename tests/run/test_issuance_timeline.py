"""The server's token count, sampled while locust runs, as one time per token."""

from __future__ import annotations

from quotalab.run.issuance_timeline import IssuanceSampler, tally_timeline
from quotalab.run.live_tally import Tally


def test_each_new_token_is_placed_at_the_sample_that_first_saw_it() -> None:
    readings = iter([0, 1, 1, 4])
    sampler = IssuanceSampler(lambda: next(readings))
    for elapsed in (0.2, 0.4, 0.6, 0.8):
        sampler.sample(elapsed)
    assert sampler.timeline(final_count=5, end_s=12.5) == (0.4, 0.8, 0.8, 0.8, 12.5)


def test_a_failed_reading_gives_no_timeline() -> None:
    sampler = IssuanceSampler(lambda: None)
    sampler.sample(0.2)
    assert sampler.timeline(final_count=3, end_s=1.0) is None


def test_a_count_that_went_back_is_no_timeline() -> None:
    # a server reset mid-run: the readings no longer describe this run
    sampler = IssuanceSampler(lambda: 5)
    sampler.sample(0.2)
    assert sampler.timeline(final_count=2, end_s=1.0) is None


def test_the_client_tally_stands_in_without_an_admin_api() -> None:
    tally = Tally()
    tally.record_exchange(100.2, "token", "ok", 3.0)
    tally.record_exchange(100.7, "token", "ok", 3.0)
    tally.record_exchange(101.1, "token", "throttled_429", 3.0)
    tally.record_exchange(101.5, "api", "ok", 3.0)
    assert tally_timeline(tally) == (100.0, 100.0)
