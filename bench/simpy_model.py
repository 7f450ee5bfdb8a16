"""The baseline of ``simulate_speed``: the same clients and buckets, by hand in SimPy.

``simulate``: poisson clients whose calls overlap (a process per call), 20 ms
per request, Auth0's tenant-wide token bucket on the token endpoint (burst 30,
30/s) and a per-client API bucket (50, 50/s). A naive call fetches a token,
then calls the API; a backoff call retries a 429 up to 5 sends, waiting what
``x-ratelimit-reset`` says (the jitter is drawn, as the real client does, and
unused since Auth0 always sends that header), within a 120 s budget.

``simulate_bucket_only``: the smallest model, shown for reference: one event
per call, the token bucket alone, no latency and no API request.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator

import simpy

Process = Generator[simpy.Event, object, None]


def simulate(strategy: str, clients: int, duration_s: float, seed: int = 0) -> tuple[int, int, int]:
    """(calls, calls that ended well, token requests)."""
    env, counts = simpy.Environment(), [0, 0, 0]
    buckets: dict[object, tuple[float, float]] = {}

    def take(key: object, burst: float, rate: float) -> float | None:
        """None: admitted; else the epoch second at which the bucket is full again."""
        tokens, at = buckets.get(key, (burst, env.now))
        tokens = min(burst, tokens + (env.now - at) * rate)
        allowed = tokens >= 1.0
        buckets[key] = (tokens - allowed, env.now)
        return None if allowed else math.ceil(env.now + (burst - tokens) / rate)

    def call(client: int, rng: random.Random) -> Process:
        counts[0] += 1
        waited, attempt = 0.0, 0
        while True:
            attempt, counts[2] = attempt + 1, counts[2] + 1
            reset_at = take("token", 30.0, 30.0)
            yield env.timeout(0.02)
            if reset_at is None:
                break
            jitter = min(30.0, 2.0 ** (attempt - 1)) * rng.random()
            delay = max(0.0, reset_at - env.now) if reset_at else jitter
            if strategy == "naive" or attempt >= 5 or waited + delay > 120.0:
                return
            waited += delay
            yield env.timeout(delay)
        refused = take(client, 50.0, 50.0)
        yield env.timeout(0.02)
        counts[1] += refused is None

    def arrivals(client: int) -> Process:
        traffic, rng = random.Random(f"{seed}:{client}"), random.Random(f"{seed}:j:{client}")
        while True:
            yield env.timeout(traffic.expovariate(1.0))
            env.process(call(client, rng))

    for client in range(clients):
        env.process(arrivals(client))
    env.run(until=duration_s)
    return counts[0], counts[1], counts[2]


def simulate_bucket_only(clients: int, duration_s: float, seed: int = 0) -> tuple[int, int, int]:
    """(calls, calls admitted, token requests) of clients that only hit the token bucket."""
    env, counts, bucket = simpy.Environment(), [0, 0], [30.0, 0.0]

    def client(index: int) -> Process:
        rng = random.Random(f"{seed}:{index}")
        while True:
            yield env.timeout(rng.expovariate(1.0))
            counts[0] += 1
            tokens = min(30.0, bucket[0] + (env.now - bucket[1]) * 30.0)
            admitted = tokens >= 1.0
            bucket[:] = [tokens - admitted, env.now]
            counts[1] += admitted

    for index in range(clients):
        env.process(client(index))
    env.run(until=duration_s)
    return counts[0], counts[1], counts[0]
