"""Memory held by the in-memory store for a million distinct client ids, and its reclaim.

Run from the repository root:

    python bench/memory_keys.py            # 1,000,000 ids (minutes: tracemalloc is slow)
    python bench/memory_keys.py --keys 100000

It inserts distinct client ids into ``MemoryStore`` under Auth0's default
``/oauth/token`` bucket (burst 30, refill 30/s, idle TTL 1 s) on a virtual
clock, measures the Python heap with ``tracemalloc``, lets the idle TTL pass
and sweeps; then streams a fifth as many new ids at a steady rate to show
that the store holds only the keys seen within the last TTL.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quotalab.clock import VirtualClock
from quotalab.limits import MemoryStore, TokenBucket


def traced_bytes() -> int:
    """Bytes currently allocated by Python, after a full collection."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def progress(phase: str, count: int) -> None:
    """Long runs say what they are doing (on stderr, so the table stays clean)."""
    print(f"{phase} {count:,} client ids under tracemalloc ...", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: python bench/memory_keys.py --keys 1000000",
    )
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct client ids")
    parser.add_argument(
        "--stream-rate", type=float, default=10_000.0, help="ids per virtual second when streaming"
    )
    parser.add_argument(
        "--stream-keys", type=int, default=0, help="ids to stream (default: a fifth of --keys)"
    )
    args = parser.parse_args()
    stream_keys = args.stream_keys or max(1, args.keys // 5)
    if args.keys < 1 or args.stream_rate <= 0 or stream_keys < 1:
        parser.error("--keys and --stream-keys must be >= 1 and --stream-rate > 0")

    bucket = TokenBucket(burst=30, refill_rate=30)
    clock = VirtualClock()
    rows: list[tuple[str, int, int]] = []
    tracemalloc.start()
    base = traced_bytes()
    store = MemoryStore()
    started = time.perf_counter()

    progress("inserting", args.keys)
    # 1. A burst of distinct ids within one virtual second.
    step = 1.0 / args.keys * 0.5  # all inside half the idle TTL: nothing may expire yet
    for i in range(args.keys):
        store.apply(bucket, f"client-{i:07d}", clock.now())
        clock.advance(step)
    rows.append((f"{args.keys:,} ids inserted", len(store), traced_bytes() - base))

    # 2. The idle TTL passes; the next sweep reclaims every key.
    clock.advance(bucket.idle_ttl_s)
    removed = store.sweep(clock.now())
    rows.append(
        (
            f"idle TTL ({bucket.idle_ttl_s:g} s) passed, swept {removed:,}",
            len(store),
            traced_bytes() - base,
        )
    )

    progress("streaming", stream_keys)
    # 3. A steady stream of new ids: only the last TTL's worth are ever held.
    gap = 1.0 / args.stream_rate
    most = 0
    for i in range(stream_keys):
        store.apply(bucket, f"stream-{i:07d}", clock.now())
        clock.advance(gap)
        if i % 1000 == 0:
            most = max(most, len(store))
    rows.append(
        (
            f"{stream_keys:,} ids streamed at {args.stream_rate:,.0f}/s (max held {most:,})",
            len(store),
            traced_bytes() - base,
        )
    )
    elapsed = time.perf_counter() - started
    tracemalloc.stop()

    print(
        f"quotalab MemoryStore memory, Python {platform.python_version()}, "
        f"{platform.machine()} {platform.system()}, {elapsed:.1f} s"
    )
    print()
    print(f"| {'phase':<58} | {'keys held':>10} | {'traced MB':>9} | {'bytes/key':>9} |")
    print(f"|{'-' * 60}|{'-' * 11}:|{'-' * 10}:|{'-' * 10}:|")
    for phase, keys, used in rows:
        per_key = f"{used / keys:,.0f}" if keys else "-"
        print(f"| {phase:<58} | {keys:>10,} | {used / 1e6:>9.1f} | {per_key:>9} |")
    window = args.stream_rate * bucket.idle_ttl_s  # ids seen within one idle TTL
    bounded = rows[1][1] == 0 and most <= window * 1.01 + 2
    print()
    print("idle keys reclaimed: " + ("yes" if bounded else "NO"))
    return 0 if bounded else 1


if __name__ == "__main__":
    raise SystemExit(main())
