"""A client that waits as told is admitted: ``retry_after_s`` and ``reset_at`` hold.

Times here are arbitrary floats (not a binary-exact grid), because clients
add ``retry_after_s`` to whatever their clock says and round as they go.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quotalab.limits import Algorithm, CounterQuota, FixedWindow, Store, TokenBucket

T0 = 1_800_000_000.0

algorithms = st.one_of(
    st.builds(
        TokenBucket,
        burst=st.integers(1, 30),
        refill_rate=st.floats(0.01, 100),
        refill=st.sampled_from(["continuous", "interval"]),
        interval_s=st.floats(0.01, 10),
    ),
    st.builds(
        FixedWindow,
        limit=st.integers(1, 10),
        window_s=st.floats(0.01, 1000),
        align=st.sampled_from(["first_hit", "epoch"]),
    ),
    st.builds(
        CounterQuota, limit=st.integers(1, 5), period=st.sampled_from(["hour", "day", "month"])
    ),
)
history = st.lists(
    st.tuples(st.floats(0, 5), st.integers(1, 3)), min_size=1, max_size=40
)  # (seconds since the previous request, cost)

# Each example uses a key of its own, so sharing the store across examples is safe.
WAIT_SETTINGS = settings(
    max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _limit(algorithm: Algorithm) -> int:
    return algorithm.burst if isinstance(algorithm, TokenBucket) else algorithm.limit


def _play(store: Store, algorithm: Algorithm, key: str, steps: list[tuple[float, int]]) -> float:
    now = T0 + 0.123456789
    for gap, cost in steps:
        now += gap
        store.apply(algorithm, key, now, min(cost, _limit(algorithm)))
    return now


@WAIT_SETTINGS
@given(algorithm=algorithms, steps=history)
def test_waiting_retry_after_is_admitted(
    store: Store, algorithm: Algorithm, steps: list[tuple[float, int]]
) -> None:
    key = uuid.uuid4().hex
    now = _play(store, algorithm, key, steps)
    cost = min(steps[-1][1], _limit(algorithm))
    rejected = store.apply(algorithm, key, now, cost)
    while rejected.allowed:  # exhaust at this instant, then wait as told
        rejected = store.apply(algorithm, key, now, cost)
    assert rejected.retry_after_s > 0
    admitted = store.apply(algorithm, key, now + rejected.retry_after_s, cost)
    assert admitted.allowed, (rejected, admitted)


@WAIT_SETTINGS
@given(algorithm=algorithms, steps=history)
def test_at_reset_at_remaining_is_back_to_limit(
    store: Store, algorithm: Algorithm, steps: list[tuple[float, int]]
) -> None:
    key = uuid.uuid4().hex
    now = _play(store, algorithm, key, steps)
    decision = store.peek(algorithm, key, now)
    assert decision.reset_at >= now
    later = store.peek(algorithm, key, decision.reset_at)
    assert later.remaining == later.limit == _limit(algorithm), (decision, later)
