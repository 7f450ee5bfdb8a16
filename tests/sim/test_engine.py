"""The engine plays strategy flows against a provider in virtual time."""

from __future__ import annotations

import random

from quotalab.clock import VirtualClock
from quotalab.sim.aggregates import ClientTally
from quotalab.sim.engine import CacheGroup, Engine, Worker
from quotalab.sim.traffic import arrivals
from quotalab.strategies.messages import Strategy
from quotalab.wire import HttpRequest
from tests.sim.toy import API_URL, ToyCachedBackoff, ToyNaive, ToyProvider

API = HttpRequest("GET", API_URL)


def workers_for(
    strategies: list[Strategy], per_group: int, rate: float, start: float, seed: int = 0
) -> list[Worker]:
    out: list[Worker] = []
    for g, strategy in enumerate(strategies):
        tally = ClientTally()
        group = CacheGroup(strategy)
        for w in range(per_group):
            rng = random.Random(f"{seed}:{g}:{w}")
            times = arrivals("constant", rate, start, rng)
            out.append(Worker(f"c{g}", w, group, API, times, tally))
    return out


def test_a_cached_client_fetches_one_token_per_lifetime() -> None:
    clock = VirtualClock()
    provider = ToyProvider(clock, ttl_s=3600.0)
    workers = workers_for([ToyCachedBackoff(clock)], 1, 1.0, clock.now())
    result = Engine(provider, clock, workers, duration_s=2 * 3600.0).run()
    tally = result.tallies["c0"]
    assert tally.calls == 7200
    assert tally.ok == 7200
    assert tally.failed == 0
    # Refreshed 60 s before each hourly expiry: at 0, ~3540 and ~7080 seconds.
    assert tally.token_requests == 3
    assert sum(result.series.values["calls"]) == 7200
    assert sum(result.series.values["token_requests"]) == 3


def test_naive_clients_get_throttled_by_the_token_bucket() -> None:
    clock = VirtualClock()
    provider = ToyProvider(clock, burst=5, rate=1.0)
    workers = workers_for([ToyNaive() for _ in range(3)], 1, 1.0, clock.now())
    result = Engine(provider, clock, workers, duration_s=600.0).run()
    total = sum(t.token_requests for t in result.tallies.values())
    throttled = sum(t.token_throttled for t in result.tallies.values())
    ok = sum(t.ok for t in result.tallies.values())
    assert total == 1800
    # The bucket admits its burst plus one per second; the rest are 429s.
    assert 600 <= total - throttled <= 606
    assert ok == total - throttled
    failed_429 = sum(t.errors.get("http_429", 0) for t in result.tallies.values())
    assert failed_429 == throttled


def test_shared_cache_workers_wait_for_one_refresh() -> None:
    clock = VirtualClock()
    provider = ToyProvider(clock)
    shared = workers_for([ToyCachedBackoff(clock)], 4, 5.0, clock.now())
    result = Engine(provider, clock, shared, duration_s=60.0, latency_s=0.5).run()
    assert result.tallies["c0"].token_requests == 1
    assert result.tallies["c0"].failed == 0


def test_per_worker_caches_each_fetch() -> None:
    clock = VirtualClock()
    provider = ToyProvider(clock)
    strategies: list[Strategy] = [ToyCachedBackoff(clock) for _ in range(4)]
    workers = [w for s in strategies for w in workers_for([s], 1, 5.0, clock.now())]
    for w in workers:
        w.client_id = "c0"
    Engine(provider, clock, workers, duration_s=60.0).run()
    assert sum(w.tally.token_requests for w in workers) == 4


def test_backoff_survives_a_429_storm_on_the_token_endpoint() -> None:
    clock = VirtualClock()
    provider = ToyProvider(clock)
    provider.storm_until = clock.now() + 10.0
    workers = workers_for([ToyCachedBackoff(clock)], 1, 1.0, clock.now())
    result = Engine(provider, clock, workers, duration_s=120.0).run()
    tally = result.tallies["c0"]
    assert tally.token_throttled >= 3
    assert tally.failed == 0
    assert tally.ok == tally.calls == 120


def test_progress_reports_growing_fractions_of_virtual_time() -> None:
    clock = VirtualClock()
    provider = ToyProvider(clock, burst=1000, rate=1000.0)
    workers = workers_for([ToyNaive() for _ in range(10)], 1, 5.0, clock.now())
    seen: list[float] = []
    Engine(provider, clock, workers, duration_s=1000.0, progress=seen.append).run()
    assert len(seen) >= 2
    assert seen == sorted(seen)
    assert seen[0] > 0.0 and seen[-1] <= 1.0
