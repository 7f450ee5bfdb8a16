"""How fast the simulation plays: simulated API calls per wall-clock second.

Targets (issue 6): 24 h of 100 clients calling once a second (8.64 M calls)
in under 10 s on one core for cached+backoff, under 60 s for naive.

Each measurement runs in a fresh subprocess, so its peak RSS is its own;
comparing two durations shows whether memory stays flat as time grows.
Naive is measured over a shorter span by default (it runs every call
through the provider) and its time for the full target is projected.

    PYTHONPATH=. python bench/simulate_speed.py
    PYTHONPATH=. python bench/simulate_speed.py --clients 100 --duration 24h --naive-duration 10m
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from simulator.sim.duration import parse_duration
from simulator.sim.scenario import SimSettings, run_strategy

TARGET_CALLS = 100 * 86400


def measure(strategy: str, clients: int, duration_s: float, fast_forward: bool) -> dict[str, float]:
    """One run in this process: wall time, calls, skipped calls and peak RSS."""
    settings = SimSettings(
        clients=clients, duration_s=duration_s, rate=1.0, fast_forward=fast_forward
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    run = run_strategy(settings, strategy)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    calls = sum(t.calls for t in run.result.tallies.values())
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": calls,
        "skipped": run.result.skipped_calls,
        "token_requests": sum(t.token_requests for t in run.result.tallies.values()),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def in_subprocess(strategy: str, clients: int, duration_s: float, fast: bool) -> dict[str, float]:
    args = [sys.executable, __file__, "--one", strategy, str(clients), str(duration_s), str(fast)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def show(label: str, duration_s: float, m: dict[str, float]) -> None:
    rate = m["calls"] / m["wall_s"]
    print(
        f"{label:<40} {int(m['calls']):>10,} calls {m['wall_s']:>7.2f} s wall "
        f"({m['cpu_s']:.2f} s CPU) {rate:>10,.0f} calls/s "
        f"{duration_s / m['wall_s']:>8,.0f}x real time "
        f"skipped {m['skipped'] / max(m['calls'], 1):>6.1%}  peak RSS {m['max_rss_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", default="24h")
    parser.add_argument("--naive-duration", default="5m")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        strategy, clients, duration_s, fast = options.one
        print(json.dumps(measure(strategy, int(clients), float(duration_s), fast == "True")))
        return
    duration_s = parse_duration(options.duration)
    naive_s = parse_duration(options.naive_duration)
    clients = options.clients
    print(f"{clients} clients at 1 call/s; one process per measurement\n")
    for span in (duration_s / 24, duration_s):
        m = in_subprocess("cached+backoff", clients, span, True)
        show(f"cached+backoff {span / 3600:g} h", span, m)
    slow = in_subprocess("cached+backoff", clients, min(duration_s, 600.0), False)
    show("cached+backoff 10 min, no fast-forward", min(duration_s, 600.0), slow)
    for span in (naive_s / 2, naive_s):
        m = in_subprocess("naive", clients, span, True)
        show(f"naive {span / 60:g} min", span, m)
    # Projection from the longer naive run: every call costs about the same.
    per_call, per_call_cpu = m["wall_s"] / m["calls"], m["cpu_s"] / m["calls"]
    print(
        f"\nnaive projected for {TARGET_CALLS:,} calls: {per_call * TARGET_CALLS:,.0f} s wall, "
        f"{per_call_cpu * TARGET_CALLS:,.0f} s CPU ({per_call_cpu * 1e6:,.0f} us CPU per call; "
        "every call runs the provider's token endpoint and API)"
    )


if __name__ == "__main__":
    main()
