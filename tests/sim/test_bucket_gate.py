"""The quiet-call gate follows token buckets exactly: model (the real store, call by call) vs gate.

Event-by-event play applies every call to the store; fast-forward counts the
calls the gate admits (``count_quiet_calls``, whose spacing rule admits some
without asking) and replays only what the gate says. Both must admit the same
calls and leave the store key with the same state and expiry, bit for bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

from hypothesis import example, given
from hypothesis import strategies as st

from quotalab.limits import MemoryStore, State, TokenBucket
from quotalab.sim.aggregates import BucketSeries
from quotalab.sim.bucket_gate import (
    MAX_REPLAY_CALLS,
    BucketStart,
    TokenBucketGate,
    full_again_gap_s,
)
from quotalab.sim.quiet_skip import count_quiet_calls

T0 = 1_800_000_000.0
KEY = "api:sim-client-0000:api_data"


def key_entry(store: MemoryStore) -> tuple[State, float] | None:
    return next(((s, e) for _, key, s, e in store.entries() if key == KEY), None)


def play_both_ways(
    bucket: TokenBucket, before: Sequence[float], stretch: Sequence[float], offset_s: float = 0.0
) -> tuple[int, int, MemoryStore, MemoryStore]:
    """Admitted calls event by event and skipped, and the two stores afterwards.

    ``before`` are real calls (both stores see them); ``stretch`` the calls the
    engine would offer as quiet, in engine time (buckets see them plus the skew).
    """
    played, skipped = MemoryStore(), MemoryStore()
    for t in before:
        played.apply(bucket, KEY, t + offset_s)
        skipped.apply(bucket, KEY, t + offset_s)
    admitted = 0
    for t in stretch:
        if not played.peek(bucket, KEY, t + offset_s).remaining >= 1:
            break  # the first call the bucket refuses is played for real, both ways
        played.apply(bucket, KEY, t + offset_s)
        admitted += 1

    entry = key_entry(skipped)
    start = BucketStart(bucket, None, -math.inf)
    if entry is not None:
        start = BucketStart(bucket, entry[0], entry[1])
    gate = TokenBucketGate([start], offset_s, stretch[0] + offset_s)
    arrivals: Iterator[float] = itertools.chain(stretch[1:], itertools.repeat(math.inf))
    series = BucketSeries(T0, 86400.0, 600.0)
    counted = count_quiet_calls(series, arrivals, stretch[0], math.inf, gate, 0.02)
    if counted.calls:
        for t in gate.replay_at(counted.last_at):
            skipped.apply(bucket, KEY, t + offset_s)
    assert sum(series.values["calls"]) == counted.calls
    return admitted, counted.calls, played, skipped


def times(start: float, gaps: Sequence[float]) -> list[float]:
    out, t = [], start
    for gap in gaps:
        t += gap
        out.append(t)
    return out


gaps_s = st.one_of(
    st.floats(0.0, 0.05),  # closer than most refills
    st.floats(0.0, 3.0),
    st.sampled_from([0.0, 1e-7, 0.02, 1.0]),  # equal times, a hair, 1/50 s, a TTL
)


@given(
    burst=st.integers(1, 8),
    refill_rate=st.sampled_from([0.5, 1.0, 3.0, 7.3, 50.0]),
    before=st.lists(gaps_s, max_size=8),
    pause=st.floats(0.0, 4.0),
    stretch=st.lists(gaps_s, min_size=1, max_size=80),
    offset_s=st.sampled_from([0.0, 400.0, -400.5, 0.3]),
)
def test_the_gate_admits_and_leaves_what_event_by_event_play_does(
    burst: int,
    refill_rate: float,
    before: list[float],
    pause: float,
    stretch: list[float],
    offset_s: float,
) -> None:
    bucket = TokenBucket(burst=burst, refill_rate=refill_rate)
    real = times(T0, before)
    quiet = times((real[-1] if real else T0) + pause, stretch)
    admitted, counted, played, skipped = play_both_ways(bucket, real, quiet, offset_s)
    assert counted == admitted
    assert key_entry(skipped) == key_entry(played)


def test_calls_closer_than_the_refill_are_counted_until_the_bucket_runs_dry() -> None:
    bucket = TokenBucket(burst=50, refill_rate=50.0)
    # 100 calls/s against 50/s: the bucket loses half a token a call.
    admitted, counted, played, skipped = play_both_ways(bucket, [T0], times(T0 + 5, [0.01] * 200))
    assert 90 < admitted < 110
    assert counted == admitted
    assert key_entry(skipped) == key_entry(played)


def test_calls_that_find_the_bucket_full_need_no_replay_before_the_last() -> None:
    bucket = TokenBucket(burst=50, refill_rate=50.0)
    gate = TokenBucketGate([BucketStart(bucket, None, -math.inf)], 0.0, T0)
    stretch = times(T0, [0.5, 0.01, 0.01, 0.3, 0.05, 0.7])  # 4th full, 5th and 6th by the gap
    arrivals = itertools.chain(stretch[1:], itertools.repeat(math.inf))
    series = BucketSeries(T0, 3600.0, 600.0)
    counted = count_quiet_calls(series, arrivals, stretch[0], math.inf, gate, 0.02)
    assert counted.calls == 6
    assert gate.replay_at(counted.last_at) == [stretch[-1]]


def test_an_expired_key_decides_as_a_fresh_one() -> None:
    # A call admitted by the time slack leaves the bucket a hair below zero;
    # exactly one idle TTL later the store decides from a fresh bucket, not
    # from that state refilled, and only then admits a call 7 us early.
    bucket = TokenBucket(burst=1, refill_rate=1.0)
    slack = T0 + 1.0 - 5e-6
    fresh = slack + 1.0
    admitted, counted, played, skipped = play_both_ways(
        bucket, [T0, slack], [fresh, fresh + 1.0 - 7e-6]
    )
    assert admitted == 2
    assert counted == 2
    assert key_entry(skipped) == key_entry(played)
    refilled = bucket.decide((-5e-6, slack), fresh)[0]
    assert not bucket.decide(refilled, fresh + 1.0 - 7e-6)[1].allowed  # the case is real


def test_a_stretch_that_never_refills_stops_at_the_replay_limit() -> None:
    bucket = TokenBucket(burst=50, refill_rate=50.0)
    # Each call 0.0199 s after the last: 0.005 tokens short of full, and falling.
    stretch = times(T0 + 5, [0.0199] * 3000)
    admitted, counted, _, skipped = play_both_ways(bucket, [T0], stretch)
    assert admitted == 3000
    assert counted == MAX_REPLAY_CALLS
    again = MemoryStore()
    for t in [T0, *stretch[:counted]]:
        again.apply(bucket, KEY, t)
    assert key_entry(skipped) == key_entry(again)


@example(burst=1, refill_rate=49.0)  # 1 / 49 * 49 == 1 - 2**-53: one token short
@given(burst=st.integers(1, 10_000), refill_rate=st.floats(1e-3, 1e6))
def test_a_call_the_full_again_gap_after_a_full_one_finds_the_bucket_full(
    burst: int, refill_rate: float
) -> None:
    bucket = TokenBucket(burst=burst, refill_rate=refill_rate)
    gap = full_again_gap_s(bucket)
    assert gap >= 1.0 / refill_rate
    after = (float(burst) - 1.0, 0.0)
    for later in (gap, 2 * gap, 1e4 * gap):
        state, decision = bucket.decide(after, later)
        assert decision.allowed
        assert state == (float(burst) - 1.0, later)
