"""Worked examples of each algorithm, run through every store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quotalab.limits import CounterQuota, FixedWindow, MemoryStore, Store, TokenBucket

T0 = 1_800_000_000.0


def test_bucket_admits_burst_then_rejects_with_exact_headers(store: Store) -> None:
    bucket = TokenBucket(burst=30, refill_rate=30)
    decisions = [store.apply(bucket, "tenant", T0) for _ in range(31)]
    assert all(d.allowed for d in decisions[:30])
    assert [d.remaining for d in decisions[:3]] == [29, 28, 27]
    last = decisions[30]
    assert not last.allowed
    assert last.limit == 30 and last.remaining == 0
    assert last.retry_after_s == 1 / 30
    assert last.reset_at == T0 + 1.0


def test_bucket_refills_continuously(store: Store) -> None:
    bucket = TokenBucket(burst=2, refill_rate=1)
    assert store.apply(bucket, "k", T0).allowed
    assert store.apply(bucket, "k", T0).allowed
    assert not store.apply(bucket, "k", T0 + 0.5).allowed
    assert store.apply(bucket, "k", T0 + 1.0).allowed


def test_interval_bucket_refills_only_at_boundaries(store: Store) -> None:
    bucket = TokenBucket(burst=3, refill_rate=3, refill="interval", interval_s=1)
    for _ in range(3):
        assert store.apply(bucket, "k", T0 + 0.1).allowed
    rejected = store.apply(bucket, "k", T0 + 0.9)
    assert not rejected.allowed
    assert rejected.retry_after_s == pytest.approx(0.1, abs=1e-6)
    assert rejected.reset_at == T0 + 1.0
    assert store.apply(bucket, "k", T0 + 1.0).allowed


def test_interval_bucket_needing_several_boundaries(store: Store) -> None:
    bucket = TokenBucket(burst=10, refill_rate=2, refill="interval", interval_s=1)
    for _ in range(10):
        assert store.apply(bucket, "k", T0 + 0.5).allowed
    rejected = store.apply(bucket, "k", T0 + 0.5)
    assert rejected.reset_at == T0 + 5.0  # 2 tokens per boundary, 5 boundaries to full
    assert rejected.retry_after_s == 0.5
    assert store.peek(bucket, "k", T0 + 4.999).remaining == 8
    assert store.peek(bucket, "k", T0 + 5.0).remaining == 10


def test_fixed_window_first_hit_resets_after_window(store: Store) -> None:
    window = FixedWindow(limit=2, window_s=900)
    assert store.apply(window, "app", T0 + 10).allowed
    assert store.apply(window, "app", T0 + 20).remaining == 0
    over = store.apply(window, "app", T0 + 30)
    assert not over.allowed and over.reset_at == T0 + 910 and over.retry_after_s == 880
    again = store.apply(window, "app", T0 + 910)
    assert again.allowed and again.reset_at == T0 + 910 + 900


def test_epoch_aligned_window(store: Store) -> None:
    window = FixedWindow(limit=1, window_s=60, align="epoch")
    first = store.apply(window, "k", T0 + 125.0)
    assert first.reset_at == T0 + 180.0
    over = store.apply(window, "k", T0 + 179.0)
    assert not over.allowed and over.retry_after_s == 1.0
    assert store.apply(window, "k", T0 + 180.0).allowed


def test_monthly_quota_rolls_over_on_the_first(store: Store) -> None:
    quota = CounterQuota(limit=2, period="month")
    end_of_jan = datetime(2027, 1, 31, 23, 0, tzinfo=UTC).timestamp()
    assert store.apply(quota, "tenant", end_of_jan).allowed
    assert store.apply(quota, "tenant", end_of_jan).allowed
    over = store.apply(quota, "tenant", end_of_jan)
    assert not over.allowed
    assert over.reset_at == datetime(2027, 2, 1, tzinfo=UTC).timestamp()
    assert over.retry_after_s == 3600.0
    feb = store.apply(quota, "tenant", over.reset_at)
    assert feb.allowed and feb.remaining == 1
    assert feb.reset_at == datetime(2027, 3, 1, tzinfo=UTC).timestamp()  # 28 days


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("hour", datetime(2027, 2, 28, 23, 0, tzinfo=UTC), datetime(2027, 3, 1, 0, tzinfo=UTC)),
        ("day", datetime(2028, 2, 28, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        ("month", datetime(2028, 2, 1, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)),
        ("month", datetime(2027, 12, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
    ],
)
def test_quota_periods_are_utc_calendar_periods(
    store: Store, period: str, start: datetime, end: datetime
) -> None:
    quota = CounterQuota(limit=1, period=period)  # type: ignore[arg-type]
    middle = (start.timestamp() + end.timestamp()) / 2
    assert store.apply(quota, "k", middle).reset_at == end.timestamp()
    assert not store.apply(quota, "k", end.timestamp() - 1).allowed
    assert store.apply(quota, "k", end.timestamp()).allowed


def test_zero_quota_rejects_everything(store: Store) -> None:
    quota = CounterQuota(limit=0, period="day")
    decision = store.apply(quota, "k", T0)
    assert not decision.allowed and decision.remaining == 0


def test_peek_consumes_nothing(store: Store) -> None:
    bucket = TokenBucket(burst=5, refill_rate=1)
    assert store.peek(bucket, "k", T0).remaining == 5
    store.apply(bucket, "k", T0)
    assert store.peek(bucket, "k", T0).remaining == 4
    assert store.peek(bucket, "k", T0).remaining == 4
    assert store.apply(bucket, "k", T0).remaining == 3


def test_cost_above_one_takes_that_many(store: Store) -> None:
    bucket = TokenBucket(burst=5, refill_rate=1)
    assert store.apply(bucket, "k", T0, cost=3).remaining == 2
    over = store.apply(bucket, "k", T0, cost=3)
    assert not over.allowed and over.remaining == 2 and over.retry_after_s == 1.0


def test_negative_cost_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="cost"):
        store.apply(FixedWindow(limit=1, window_s=1), "k", T0, cost=-1)


def test_keys_and_algorithms_are_independent(store: Store) -> None:
    small, large = TokenBucket(burst=1, refill_rate=1), TokenBucket(burst=2, refill_rate=1)
    assert store.apply(small, "a", T0).allowed
    assert not store.apply(small, "a", T0).allowed
    assert store.apply(small, "b", T0).allowed
    assert store.apply(large, "a", T0).remaining == 1


def test_reset_forgets_every_key(store: Store) -> None:
    window = FixedWindow(limit=1, window_s=60)
    store.apply(window, "a", T0)
    store.apply(TokenBucket(burst=1, refill_rate=1), "b", T0)
    assert len(store) == 2
    store.reset()
    assert len(store) == 0
    assert store.apply(window, "a", T0).allowed


def test_bucket_time_never_runs_backwards(store: Store) -> None:
    """A request stamped before the last one (another worker's clock) refills nothing."""
    bucket = TokenBucket(burst=1, refill_rate=1)
    assert store.apply(bucket, "k", T0 + 10).allowed
    late = store.apply(bucket, "k", T0 + 9.5)
    assert not late.allowed
    assert late.reset_at == T0 + 11  # counted from the key's own time
    assert late.retry_after_s == 1.5  # from the caller's clock
    assert not store.apply(bucket, "k", T0 + 10.5).allowed
    assert store.apply(bucket, "k", T0 + 11).allowed


def test_a_clock_set_back_moves_a_drained_bucket_with_it(store: Store) -> None:
    """``shift``: after the caller's clock goes back 120 s, the bucket refills and
    resets by the new clock, not once the old time comes round again."""
    bucket = TokenBucket(burst=2, refill_rate=1)
    for _ in range(2):
        assert store.apply(bucket, "k", T0 + 120).allowed
    store.shift([bucket], -120.0)
    drained = store.apply(bucket, "k", T0)
    assert not drained.allowed
    assert drained.reset_at == T0 + 2  # was T0 + 122
    assert drained.retry_after_s == 1
    assert store.apply(bucket, "k", T0 + 1).allowed
    store.shift([bucket], 60.0)  # ahead again: nothing refills from the jump
    assert not store.apply(bucket, "k", T0 + 61.5).allowed
    assert store.apply(bucket, "k", T0 + 62).allowed


def test_a_clock_set_back_moves_a_full_window_with_it(store: Store) -> None:
    window = FixedWindow(limit=1, window_s=60)
    assert store.apply(window, "k", T0 + 120).allowed
    store.shift([window], -120.0)
    full = store.apply(window, "k", T0 + 30)
    assert not full.allowed
    assert full.reset_at == T0 + 60
    assert store.apply(window, "k", T0 + 60).allowed


def test_a_clock_shift_leaves_a_quota_in_its_calendar_period(store: Store) -> None:
    quota = CounterQuota(limit=1, period="day")
    bucket = TokenBucket(burst=1, refill_rate=1)
    assert store.apply(quota, "k", T0).allowed
    store.shift([quota, bucket], -120.0)  # keys of an algorithm listed but not held: none
    spent = store.apply(quota, "k", T0 - 120)
    assert not spent.allowed
    assert spent.reset_at == quota.bounds(T0)[1]


def test_quota_request_from_before_midnight_counts_in_the_new_period(store: Store) -> None:
    quota = CounterQuota(limit=2, period="day")
    midnight = datetime(2027, 3, 2, tzinfo=UTC).timestamp()
    assert store.apply(quota, "k", midnight + 0.001).remaining == 1
    straggler = store.apply(quota, "k", midnight - 0.001)
    assert straggler.allowed and straggler.remaining == 0
    assert straggler.reset_at == midnight + 86400
    assert not store.apply(quota, "k", midnight + 1).allowed


def test_quota_bounds_follow_time_both_ways() -> None:
    # bounds() remembers the last period it found; times before it must not reuse it.
    quota = CounterQuota(limit=1, period="day")
    day = datetime(2027, 3, 2, tzinfo=UTC).timestamp()
    assert quota.bounds(day + 10) == (day, day + 86400)
    assert quota.bounds(day - 10) == (day - 86400, day)
    assert quota.bounds(day + 86400) == (day + 86400, day + 2 * 86400)
    assert quota.bounds(day - 1e-6) == (day, day + 86400)  # within the slack of midnight


def test_an_expired_key_decides_as_a_fresh_one_before_it_is_swept() -> None:
    # Admission tolerance lets a bucket dip just below zero; by its idle TTL it
    # is not quite full. Until swept, it must still decide like a fresh key.
    bucket = TokenBucket(burst=1, refill_rate=1.0)
    store = MemoryStore()
    store.apply(bucket, "k", T0)
    store.apply(bucket, "k", T0 + 1.0 - 5e-6)  # admitted within the tolerance: dips below 0
    later = T0 + 1.0 - 5e-6 + bucket.idle_ttl_s  # when "k" expires
    store.apply(bucket, "other", later - 0.5)  # sweeps now, so not again at ``later``
    assert len(store) == 2
    assert store.apply(bucket, "k", later) == MemoryStore().apply(bucket, "k", later)
