"""A rejected request changes no limiter state, in memory and in Redis.

The simulation relies on it: requests it proves rejected (a stretch of 429s
while a bucket is empty) are counted without asking the store, and every
later decision must be the one event-by-event play makes. So: play random
requests twice, once with every request and once leaving out the rejected
ones; the admitted requests must get identical decisions, bit for bit.
"""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotalab.limits import Algorithm, CounterQuota, FixedWindow, MemoryStore, Store, TokenBucket
from quotalab.limits.store import REJECTION_MARGIN_S

T0 = 1_800_000_000.0

ALGORITHMS: list[Algorithm] = [
    TokenBucket(burst=3, refill_rate=7.3),
    TokenBucket(burst=1, refill_rate=2e-7),  # under a token a day: its tolerance is 5 ms wide
    TokenBucket(burst=2, refill_rate=1.5, refill="interval", interval_s=0.7),
    FixedWindow(limit=3, window_s=1.3),
    FixedWindow(limit=2, window_s=0.9, align="epoch"),
    CounterQuota(limit=4, period="hour"),
]

gaps = st.lists(
    st.one_of(st.floats(0, 0.4), st.just(0.0), st.floats(0, 5000)), min_size=1, max_size=40
)


def _play(store: Store, algorithm: Algorithm, times: list[float], skip: set[int]) -> list[object]:
    key = uuid.uuid4().hex
    return [None if i in skip else store.apply(algorithm, key, t) for i, t in enumerate(times)]


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.key_prefix)
@settings(max_examples=60, deadline=None)
@given(gaps=gaps)
def test_leaving_out_rejected_requests_changes_no_decision(
    algorithm: Algorithm, gaps: list[float]
) -> None:
    times, t = [], T0
    for gap in gaps:
        t += gap
        times.append(t)
    every = _play(MemoryStore(), algorithm, times, set())
    rejected = {i for i, d in enumerate(every) if not d.allowed}  # type: ignore[attr-defined]
    fewer = _play(MemoryStore(), algorithm, times, rejected)
    assert [d for i, d in enumerate(every) if i not in rejected] == [
        d for d in fewer if d is not None
    ]


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.key_prefix)
def test_a_rejection_leaves_the_stored_state_and_expiry(store: Store, algorithm: Algorithm) -> None:
    key = "k"
    while store.apply(algorithm, key, T0).allowed:
        pass
    if isinstance(store, MemoryStore):
        before = store.entries()
        assert not store.apply(algorithm, key, T0 + 0.01).allowed
        assert store.entries() == before  # state and expiry alike
        return
    client, name = store._client, store._key(algorithm, key)  # type: ignore[attr-defined]
    client.pexpire(name, 123_456)  # a write would set the store's own TTL again
    before = client.hgetall(name)
    assert not store.apply(algorithm, key, T0 + 0.01).allowed
    assert client.hgetall(name) == before
    assert 0 < client.pttl(name) <= 123_456


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.key_prefix)
@settings(max_examples=60, deadline=None)
@given(gaps=gaps, probes=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_rejected_until_holds_for_every_request_before_it(
    algorithm: Algorithm, gaps: list[float], probes: list[float]
) -> None:
    """Every request before the instant is refused; right after it one may be admitted."""
    store, key, t = MemoryStore(), "k", T0
    for gap in gaps:
        t += gap
        store.apply(algorithm, key, t)
    found = store.rejected_until(algorithm, key, t)
    if found is None:
        assert store.apply(algorithm, key, t).allowed
        return
    until, decision = found
    assert until > t and not decision.allowed
    for u in sorted(probes):  # refused all along, and refusals change nothing
        assert not store.apply(algorithm, key, t + u * (until - t)).allowed
    # It ends before the moment the algorithm itself names (which admits: test_limits_waits),
    # or, where that moment is within the margin, right after ``t`` itself.
    if until > math.nextafter(t, math.inf):
        assert until <= t + decision.retry_after_s - REJECTION_MARGIN_S / 2


def test_a_refusal_within_the_margin_holds_at_its_own_instant() -> None:
    """A request refused less than the margin before the bucket admits again proves
    its instant alone: every request at that instant is refused, the next float may not be."""
    store, key, bucket = MemoryStore(), "k", TokenBucket(burst=1, refill_rate=30.0)
    assert store.apply(bucket, key, T0).allowed
    t = T0 + 1 / 30 - REJECTION_MARGIN_S / 3
    found = store.rejected_until(bucket, key, t)
    assert found is not None
    until, decision = found
    assert until == math.nextafter(t, math.inf)
    assert not decision.allowed and decision.retry_after_s < REJECTION_MARGIN_S
    assert not store.apply(bucket, key, t).allowed
