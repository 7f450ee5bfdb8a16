"""Worked examples of each algorithm; the model-based properties live elsewhere."""

from datetime import UTC, datetime

from simulator.limits import CounterQuota, FixedWindow, MemoryStore, TokenBucket

T0 = 1_800_000_000.0


def test_bucket_admits_burst_then_rejects_with_exact_headers() -> None:
    store, bucket = MemoryStore(), TokenBucket(burst=30, refill_rate=30)
    decisions = [store.apply(bucket, "tenant", T0) for _ in range(31)]
    assert all(d.allowed for d in decisions[:30])
    assert [d.remaining for d in decisions[:3]] == [29, 28, 27]
    last = decisions[30]
    assert not last.allowed
    assert last.limit == 30 and last.remaining == 0
    assert last.retry_after_s == 1 / 30
    assert last.reset_at == T0 + 1.0


def test_bucket_refills_continuously() -> None:
    store, bucket = MemoryStore(), TokenBucket(burst=2, refill_rate=1)
    assert store.apply(bucket, "k", T0).allowed
    assert store.apply(bucket, "k", T0).allowed
    assert not store.apply(bucket, "k", T0 + 0.5).allowed
    assert store.apply(bucket, "k", T0 + 1.0).allowed


def test_interval_bucket_refills_only_at_boundaries() -> None:
    store = MemoryStore()
    bucket = TokenBucket(burst=3, refill_rate=3, refill="interval", interval_s=1)
    for _ in range(3):
        assert store.apply(bucket, "k", T0 + 0.1).allowed
    rejected = store.apply(bucket, "k", T0 + 0.9)
    assert not rejected.allowed
    assert abs(rejected.retry_after_s - 0.1) < 1e-6
    assert store.apply(bucket, "k", T0 + 1.0).allowed


def test_fixed_window_first_hit_resets_after_window() -> None:
    store, window = MemoryStore(), FixedWindow(limit=2, window_s=900)
    assert store.apply(window, "app", T0 + 10).allowed
    assert store.apply(window, "app", T0 + 20).remaining == 0
    over = store.apply(window, "app", T0 + 30)
    assert not over.allowed and over.reset_at == T0 + 910 and over.retry_after_s == 880
    assert store.apply(window, "app", T0 + 910).allowed


def test_epoch_aligned_window() -> None:
    window = FixedWindow(limit=1, window_s=60, align="epoch")
    _, decision = window.decide(None, 125.0)
    assert decision.reset_at == 180.0


def test_monthly_quota_rolls_over_on_the_first() -> None:
    quota = CounterQuota(limit=2, period="month")
    end_of_jan = datetime(2027, 1, 31, 23, 0, tzinfo=UTC).timestamp()
    store = MemoryStore()
    assert store.apply(quota, "tenant", end_of_jan).allowed
    assert store.apply(quota, "tenant", end_of_jan).allowed
    over = store.apply(quota, "tenant", end_of_jan)
    assert not over.allowed
    assert over.reset_at == datetime(2027, 2, 1, tzinfo=UTC).timestamp()
    assert store.apply(quota, "tenant", over.reset_at).allowed


def test_peek_consumes_nothing() -> None:
    store, bucket = MemoryStore(), TokenBucket(burst=5, refill_rate=1)
    store.apply(bucket, "k", T0)
    assert store.peek(bucket, "k", T0).remaining == 4
    assert store.peek(bucket, "k", T0).remaining == 4


def test_idle_keys_are_reclaimed() -> None:
    store, bucket = MemoryStore(), TokenBucket(burst=10, refill_rate=10)
    for i in range(1000):
        store.apply(bucket, f"client-{i}", T0)
    assert len(store) == 1000
    store.apply(bucket, "late", T0 + 5)
    assert len(store) == 1
