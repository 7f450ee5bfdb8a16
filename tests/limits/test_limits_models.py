"""Model-based tests: each algorithm, through each store, against an exact model.

A ``RuleBasedStateMachine`` drives random request/advance steps on a virtual
clock. Time moves in multiples of 1/64 s (plus long jumps) and rates are exact
in binary, so the float arithmetic under test is exact where the model's
decisions turn; ``reset_at`` and ``retry_after_s`` are compared to 1e-6 s.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from limit_models import BucketModel, QuotaModel, Verdict, WindowModel

from quotalab.limits import Algorithm, CounterQuota, Decision, FixedWindow, Store, TokenBucket

T0 = Fraction(1_800_000_000)
STEP = Fraction(1, 64)
TOLERANCE_S = Fraction(1, 10**6)

steps = st.integers(min_value=0, max_value=200).map(lambda n: n * STEP)
costs = st.sampled_from([0, 1, 1, 1, 2, 3])


class StoreMachine(RuleBasedStateMachine):
    """Shared rules; subclasses pick the algorithm and its model in ``setup``."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.key = uuid.uuid4().hex
        self.now = T0
        self.algorithm: Algorithm = TokenBucket(burst=1, refill_rate=1)
        self.model: BucketModel | WindowModel | QuotaModel = BucketModel(1, Fraction(1), None)
        self.limit = 1
        self.admitted = 0
        self.model_admitted = 0
        self.last: Decision | None = None

    def compare(self, got: Decision, want: Verdict) -> None:
        context = f"{self.algorithm} at {self.now - T0}s: got {got}, model {want}"
        assert got.allowed == want.allowed, context
        assert got.limit == self.limit, context
        assert got.remaining == want.remaining, context
        assert abs(Fraction(got.reset_at) - want.reset_at) <= TOLERANCE_S, context
        assert abs(Fraction(got.retry_after_s) - want.retry_after_s) <= TOLERANCE_S, context

    @rule(cost=costs)
    def request(self, cost: int) -> None:
        got = self.store.apply(self.algorithm, self.key, float(self.now), cost)
        want = self.model.request(self.now, cost)
        self.compare(got, want)
        self.admitted += cost if got.allowed else 0
        self.model_admitted += cost if want.allowed else 0
        self.last = got

    @rule(dt=steps)
    def advance(self, dt: Fraction) -> None:
        self.now += dt

    @invariant()
    def remaining_within_limit(self) -> None:
        if self.last is not None:
            assert 0 <= self.last.remaining <= self.limit

    @invariant()
    def never_admits_more_than_the_model(self) -> None:
        assert self.admitted <= self.model_admitted


class BucketMachine(StoreMachine):
    @initialize(
        burst=st.integers(min_value=1, max_value=8),
        rate=st.sampled_from([Fraction(1, 2), Fraction(1), Fraction(2), Fraction(3), Fraction(30)]),
        interval_s=st.sampled_from(
            [None, Fraction(1, 4), Fraction(1, 2), Fraction(1), Fraction(2)]
        ),
    )
    def setup(self, burst: int, rate: Fraction, interval_s: Fraction | None) -> None:
        if interval_s is None:
            self.algorithm = TokenBucket(burst=burst, refill_rate=float(rate))
        else:
            self.algorithm = TokenBucket(
                burst=burst,
                refill_rate=float(rate),
                refill="interval",
                interval_s=float(interval_s),
            )
        self.model = BucketModel(burst, rate, interval_s)
        self.limit = burst


class WindowMachine(StoreMachine):
    @initialize(
        limit=st.integers(min_value=1, max_value=5),
        window_s=st.sampled_from([Fraction(1), Fraction(5, 2), Fraction(60), Fraction(900)]),
        epoch=st.booleans(),
    )
    def setup(self, limit: int, window_s: Fraction, epoch: bool) -> None:
        align = "epoch" if epoch else "first_hit"
        self.algorithm = FixedWindow(limit=limit, window_s=float(window_s), align=align)
        self.model = WindowModel(limit, window_s, epoch)
        self.limit = limit

    @rule(dt=st.sampled_from([Fraction(59), Fraction(450), Fraction(899), Fraction(900)]))
    def advance_long(self, dt: Fraction) -> None:
        self.now += dt


QUOTA_START = Fraction(int(datetime(2027, 1, 31, 22, tzinfo=UTC).timestamp()))


class QuotaMachine(StoreMachine):
    @initialize(
        limit=st.integers(min_value=0, max_value=5),
        period=st.sampled_from(["hour", "day", "month"]),
    )
    def setup(self, limit: int, period: str) -> None:
        self.algorithm = CounterQuota(limit=limit, period=period)  # type: ignore[arg-type]
        self.model = QuotaModel(limit, period)
        self.limit = limit
        self.now = QUOTA_START

    @rule(
        dt=st.sampled_from(
            [Fraction(1799), Fraction(3600), Fraction(86399), Fraction(86400), Fraction(20 * 86400)]
        )
    )
    def advance_long(self, dt: Fraction) -> None:
        self.now += dt


# Enough to cover every rule mix in well under the suite's budget on both stores.
MACHINE_SETTINGS = settings(max_examples=60, stateful_step_count=30)


def test_token_bucket_matches_model(store: Store) -> None:
    run_state_machine_as_test(lambda: BucketMachine(store), settings=MACHINE_SETTINGS)


def test_fixed_window_matches_model(store: Store) -> None:
    run_state_machine_as_test(lambda: WindowMachine(store), settings=MACHINE_SETTINGS)


def test_counter_quota_matches_model(store: Store) -> None:
    run_state_machine_as_test(lambda: QuotaMachine(store), settings=MACHINE_SETTINGS)
