"""Many simultaneous requests on one key never over-admit, in either store.

The clock is frozen, so nothing refills: exactly the capacity must be
admitted, however the requests interleave.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from redis_fixtures import fresh_namespace, open_test_redis

from quotalab.limits import Algorithm, CounterQuota, FixedWindow, Store, TokenBucket

T0 = 1_800_000_000.0
CAPACITY = 100
THREADS = 8
PER_THREAD = 40  # 320 attempts for 100 places

ALGORITHMS: list[Algorithm] = [
    TokenBucket(burst=CAPACITY, refill_rate=0.001),
    TokenBucket(burst=CAPACITY, refill_rate=1, refill="interval", interval_s=3600),
    FixedWindow(limit=CAPACITY, window_s=900),
    CounterQuota(limit=CAPACITY, period="month"),
]


def _hammer(store: Store, algorithm: Algorithm, key: str, now: float) -> int:
    start = threading.Barrier(THREADS)

    def worker() -> int:
        start.wait()
        return sum(store.apply(algorithm, key, now).allowed for _ in range(PER_THREAD))

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker) for _ in range(THREADS)]
        return sum(f.result() for f in futures)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.key_prefix)
def test_threads_on_one_key_admit_exactly_the_capacity(store: Store, algorithm: Algorithm) -> None:
    assert _hammer(store, algorithm, "hot-key", T0) == CAPACITY
    assert store.peek(algorithm, "hot-key", T0).remaining == 0


_WORKER = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from quotalab.limits import TokenBucket
    from quotalab.limits.redis_store import RedisStore

    url, namespace = sys.argv[1:3]
    store = RedisStore.from_url(url, namespace=namespace)
    bucket = TokenBucket(burst=300, refill_rate=0.001)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent releases both processes at once
    def worker():
        return sum(store.apply(bucket, "shared", 1800000000.0).allowed for _ in range(100))
    with ThreadPoolExecutor(4) as pool:
        print(sum(pool.map(lambda _: worker(), range(4))), flush=True)
    """
)


@pytest.mark.redis
def test_two_processes_on_one_redis_key_admit_exactly_the_capacity() -> None:
    namespace = fresh_namespace()
    store = open_test_redis(namespace)  # skips or fails exactly like the store fixture
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    url = os.environ["QUOTALAB_REDIS_URL"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, namespace],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        admitted = [int(proc.communicate(timeout=60)[0].strip()) for proc in procs]
        assert sum(admitted) == 300  # 800 attempts, 300 places
        assert all(proc.returncode == 0 for proc in procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        store.reset()
        store.close()
