"""Skipping repeated periods (``quotalab.sim.cycles``) gives exactly the event-by-event result."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from quotalab.limits import MemoryStore, TokenBucket
from quotalab.sim.aggregates import BucketSeries, ClientTally
from quotalab.sim.scenario import SimSettings, StrategyRun, run_strategy
from quotalab.sim.traffic import arrivals, common_period
from tests.sim.test_fast_forward import observable

START = 1_800_000_000.0

ENFORCED_QUOTA = """
[limits.m2m_quota]
limit = 700
enforce = true
"""
"""The month's quota runs out mid-run and the tenant is refused from then on."""

HOURLY_QUOTA = """
[limits.m2m_quota]
limit = 1000000
period = "hour"
"""
"""A count that never reaches its limit, in calendar hours the skip must not cross."""

INTERVAL_REFILL = """
[limits.oauth_token]
refill = "interval"
"""
"""Refills at epoch-aligned seconds: tied to absolute time, so nothing is skipped."""

FAULTS = '{"endpoints": {"token": {"probability": 0.05}}}'


def config(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def both_ways(
    settings: SimSettings, strategy: str, faults: str | None = None
) -> tuple[StrategyRun, StrategyRun]:
    fast = run_strategy(settings, strategy, faults_path=faults)
    slow = run_strategy(
        dataclasses.replace(settings, fast_forward=False), strategy, faults_path=faults
    )
    assert slow.result.skipped_calls == 0
    assert observable(fast) == observable(slow)
    return fast, slow


def calls(run: StrategyRun) -> int:
    return sum(t.calls for t in run.result.tallies.values())


SKIPPING = [
    # 40 naive clients against a 30/s token bucket: throttled in a steady pattern.
    pytest.param(
        SimSettings(clients=40, duration_s=300.0, strategies=("naive",)), "naive", id="throttled"
    ),
    # Minute-wide series buckets, and a count below its quota that keeps growing.
    pytest.param(SimSettings(clients=6, duration_s=1500.0), "naive", id="minute-buckets"),
    pytest.param(SimSettings(clients=15, duration_s=300.0, rate=2.0), "naive", id="two-per-second"),
    pytest.param(
        SimSettings(clients=20, duration_s=400.0, rate=0.5), "naive", id="two-second-period"
    ),
    pytest.param(
        SimSettings(clients=6, workers_per_client=3, duration_s=300.0, rate=3.0),
        "naive",
        id="three-workers-each",
    ),
    # No instant without a call in flight: naive calls in flight are described.
    pytest.param(
        SimSettings(clients=100, duration_s=120.0, latency_s=0.2), "naive", id="always-in-flight"
    ),
    pytest.param(
        SimSettings(clients=20, duration_s=200.0, latency_s=0.7), "naive", id="calls-span-periods"
    ),
    # Backoff without throttles draws no jitter, so it repeats too.
    pytest.param(SimSettings(clients=5, duration_s=300.0), "backoff", id="backoff-unthrottled"),
]


@pytest.mark.parametrize(("settings", "strategy"), SKIPPING)
def test_repeated_periods_are_skipped_with_the_same_result(
    settings: SimSettings, strategy: str
) -> None:
    fast, _ = both_ways(settings, strategy)
    assert fast.result.skipped_calls > 0.5 * calls(fast)


def test_an_enforced_quota_running_out_ends_a_skip_at_the_right_period(tmp_path: Path) -> None:
    settings = SimSettings(
        clients=10, duration_s=600.0, config_path=config(tmp_path, "q.toml", ENFORCED_QUOTA)
    )
    fast, _ = both_ways(settings, "naive")
    total = ClientTally()
    for tally in fast.result.tallies.values():
        total.merge(tally)
    assert total.tokens_issued == 700  # then refused: the skip stopped short of the limit
    assert total.failed > 0
    assert fast.result.skipped_calls > 0


def test_skips_stop_at_calendar_boundaries_of_a_quota(tmp_path: Path) -> None:
    # The run starts on the hour (1.8e9 s is a whole number of hours) and lasts two.
    settings = SimSettings(
        clients=1, duration_s=7200.0, config_path=config(tmp_path, "h.toml", HOURLY_QUOTA)
    )
    fast, _ = both_ways(settings, "naive")
    assert fast.result.skipped_calls > 0.9 * calls(fast)
    limits = fast.provider_stats["limits"]
    assert isinstance(limits, dict)
    # The second hour's count starts from zero, as event-by-event play has it.
    assert limits["m2m_quota:quotalab"]["remaining"] == 1000000 - 3600


def test_tokens_in_flight_are_not_aged_past_their_expiry(tmp_path: Path) -> None:
    # Some call always holds a token it has not sent yet; after a skip it sends
    # that token, which must still be accepted: skips stay shorter than 20 s.
    settings = SimSettings(
        clients=100,
        duration_s=150.0,
        latency_s=0.2,
        config_path=config(tmp_path, "short.toml", "[provider]\ntoken_lifetime_s = 20\n"),
    )
    fast, _ = both_ways(settings, "naive")
    assert fast.result.skipped_calls > 0.5 * calls(fast)
    total = ClientTally()
    for tally in fast.result.tallies.values():
        total.merge(tally)
    assert total.auth_failures_401_403 == 0


OPAQUE_TOKENS = """
[responses.token_ok]
status = 200
headers = { "content-type" = "application/json" }
body = '{"access_token":"opaque-token","expires_in":${expires_in},"token_type":"Bearer"}'
"""
"""Tokens the provider's own API cannot read: every API call is refused."""


def test_an_unreadable_token_in_flight_is_played_not_skipped(tmp_path: Path) -> None:
    settings = SimSettings(
        clients=20,
        duration_s=60.0,
        latency_s=0.2,
        config_path=config(tmp_path, "opaque.toml", OPAQUE_TOKENS),
    )
    fast, _ = both_ways(settings, "naive")
    assert all(t.ok == 0 and t.calls == 60 for t in fast.result.tallies.values())


SKEWED_HOURLY_QUOTA = """
[provider]
clock_offset_s = {offset}
[limits.m2m_quota]
limit = 100
period = "hour"
enforce = true
"""


@pytest.mark.parametrize("offset", [-300.0, 300.0])
def test_quota_hours_are_read_on_the_provider_clock(offset: float, tmp_path: Path) -> None:
    # The provider's hour turns 300 s before or after the engine's: the skip
    # must stop at the provider's boundary, where the quota refills.
    text = SKEWED_HOURLY_QUOTA.format(offset=offset)
    settings = SimSettings(
        clients=1, duration_s=3700.0, config_path=config(tmp_path, "skew.toml", text)
    )
    fast, _ = both_ways(settings, "naive")
    assert fast.result.skipped_calls > 0


@pytest.mark.parametrize("offset", [-2.0, -1000.0, 2.5])
def test_a_skewed_provider_clock_keeps_buckets_exact(offset: float, tmp_path: Path) -> None:
    # With the provider behind, a bucket's key lives on past the engine's
    # "now": it must still count as live when snapshots are compared.
    text = f"[provider]\nclock_offset_s = {offset}\n"
    settings = SimSettings(
        clients=40, duration_s=60.0, config_path=config(tmp_path, "skew.toml", text)
    )
    fast, _ = both_ways(settings, "naive")
    assert fast.result.skipped_calls > 0


@pytest.mark.parametrize(
    ("settings", "strategy", "faults"),
    [
        pytest.param(
            SimSettings(clients=4, duration_s=200.0, rate=3.0), "naive", None, id="gap-off-grid"
        ),
        pytest.param(
            SimSettings(clients=4, duration_s=200.0, traffic="poisson"), "naive", None, id="poisson"
        ),
        pytest.param(SimSettings(clients=4, duration_s=200.0), "naive", FAULTS, id="faults"),
        pytest.param(SimSettings(clients=40, duration_s=120.0), "backoff", None, id="jitter"),
        pytest.param(
            SimSettings(profile="twitter", clients=3, duration_s=300.0), "naive", None, id="twitter"
        ),
    ],
)
def test_what_cannot_repeat_exactly_is_played_event_by_event(
    settings: SimSettings, strategy: str, faults: str | None, tmp_path: Path
) -> None:
    path = None
    if faults is not None:
        path = config(tmp_path, "faults.json", faults)
    fast, _ = both_ways(settings, strategy, path)
    assert fast.result.skipped_calls == 0


def test_a_bucket_refilled_at_epoch_seconds_is_not_skipped(tmp_path: Path) -> None:
    settings = SimSettings(
        clients=40, duration_s=120.0, config_path=config(tmp_path, "i.toml", INTERVAL_REFILL)
    )
    fast, _ = both_ways(settings, "naive")
    assert fast.result.skipped_calls == 0


def test_a_day_of_naive_clients_plays_in_few_events() -> None:
    run = run_strategy(SimSettings(clients=100, duration_s=86400.0), "naive")
    assert calls(run) == 100 * 86400
    assert run.result.skipped_calls > 0.99 * calls(run)
    assert run.result.events < 100_000
    total = ClientTally()
    for tally in run.result.tallies.values():
        total.merge(tally)
    # The tenant bucket admits its refill rate, 30 tokens a second, all day.
    assert abs(total.tokens_issued - 30 * 86400) <= 30 + 100


def test_common_period_needs_every_gap_in_whole_grid_steps() -> None:
    def times(rate: float) -> object:
        return arrivals("constant", rate, START, random.Random(1))

    assert common_period([times(1.0), times(2.0)], START, START + 86400) == (1, [1, 2])
    assert common_period([times(0.5), times(4.0 / 3.0)], START, START + 86400) == (6, [3, 8])
    assert common_period([times(3.0)], START, START + 86400) is None  # 1/3 s is off the grid
    assert common_period([times(1.0)], START, 2.0**31 + 1) is None  # crosses a binade
    poisson = arrivals("poisson", 1.0, START, random.Random(1))
    assert common_period([times(1.0), poisson], START, START + 60) is None


@pytest.mark.parametrize("width", [1.0, 60.0, 3600.0])
@pytest.mark.parametrize("period", [1.0, 2.0, 7.0])
@pytest.mark.parametrize("seed", [1, 2])
def test_series_add_repeats_equals_adding_each_copy(width: float, period: float, seed: int) -> None:
    rng = random.Random(seed)
    span = 20_000.0
    one, many = BucketSeries(START, span, width), BucketSeries(START, span, width)
    grid = 2.0**-22  # the time grid at this epoch
    anchor = START + 13.0 + rng.randrange(int(period / grid)) * grid
    log = []
    for _ in range(20):  # a period's events: times on the grid, less than a period apart
        t = anchor + rng.randrange(1, int(period / grid)) * grid
        log.append((rng.choice(["calls", "ok", "throttled"]), t, rng.choice([1, 1, 3])))
    log.append(("calls", anchor + period, 2))  # the period's last instant
    copies = int((span + 500) / period)  # runs past the last bucket too
    many.add_repeats(log, period, copies)
    for name, t, amount in log:
        for j in range(1, copies + 1):
            one.add(name, t + j * period, amount)
    assert many.values == one.values


def test_tally_since_and_merge_times() -> None:
    tally = ClientTally(calls=3, ok=2, errors={"Throttled": 1})
    before = tally.copy()
    tally.calls += 2
    tally.failed += 1
    tally.errors["Throttled"] += 1
    tally.errors["http_503"] = 1
    delta = tally.since(before)
    assert (delta.calls, delta.failed, delta.ok) == (2, 1, 0)
    assert delta.errors == {"Throttled": 1, "http_503": 1}
    tally.merge(delta, 10)
    assert (tally.calls, tally.failed, tally.errors) == (25, 11, {"Throttled": 12, "http_503": 11})


def test_memory_store_rewrite_moves_every_key() -> None:
    store = MemoryStore()
    bucket = TokenBucket(burst=5, refill_rate=1.0)
    store.apply(bucket, "a", START)
    store.apply(bucket, "b", START + 1)
    [(prefix, _, state, expires)] = [e for e in store.entries() if e[1] == "a"]
    assert (prefix, state, expires) == (bucket.key_prefix, (4.0, START), START + 5.0)
    store.rewrite(lambda p, k, s, e: ((s[0], s[1] + 100.0), e + 100.0), 100.0)
    moved = {k: (s, e) for _, k, s, e in store.entries()}
    assert moved == {"a": ((4.0, START + 100), START + 105), "b": ((4.0, START + 101), START + 106)}
    # The moved bucket decides as the original would have, 100 s earlier.
    original = MemoryStore()
    original.apply(bucket, "a", START)
    expected = original.apply(bucket, "a", START + 0.5)
    assert store.apply(bucket, "a", START + 100.5) == expected._replace(
        reset_at=expected.reset_at + 100.0
    )
