"""How fast the simulation plays: simulated API calls per wall-clock second.

Targets (issue 6): 24 h of 100 clients calling once a second (8.64 M calls)
in under 10 s on one core for cached+backoff, under 60 s for naive.

Each measurement runs in a fresh subprocess, so its peak RSS is its own;
comparing two durations shows whether memory stays flat as time grows. Both
strategies are measured over the full duration with fast-forward (quiet
calls, repeating periods) and over a short span without it, side by side.

    PYTHONPATH=. python bench/simulate_speed.py
    PYTHONPATH=. python bench/simulate_speed.py --clients 100 --duration 24h --slow-duration 5m
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from quotalab.sim.duration import parse_duration
from quotalab.sim.scenario import SimSettings, run_strategy

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
    parser.add_argument("--slow-duration", default="2m", help="span played without fast-forward")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        strategy, clients, duration_s, fast = options.one
        print(json.dumps(measure(strategy, int(clients), float(duration_s), fast == "True")))
        return
    duration_s = parse_duration(options.duration)
    slow_s = min(duration_s, parse_duration(options.slow_duration))
    clients = options.clients
    print(f"{clients} clients at 1 call/s; one process per measurement\n")
    targets = {"cached+backoff": 10.0, "naive": 60.0}
    verdicts = []
    for strategy, target_s in targets.items():
        for span in (duration_s / 24, duration_s):
            m = in_subprocess(strategy, clients, span, True)
            show(f"{strategy} {span / 3600:g} h", span, m)
        # The full run's time scaled to the target's call count (equal when at defaults).
        scaled = m["wall_s"] * TARGET_CALLS / max(m["calls"], 1)
        slow = in_subprocess(strategy, clients, slow_s, False)
        show(f"{strategy} {slow_s / 60:g} min, no fast-forward", slow_s, slow)
        event_by_event = slow["wall_s"] / slow["calls"] * TARGET_CALLS
        verdict = "PASS" if scaled < target_s else "FAIL"
        verdicts.append(
            f"{strategy:<15} {TARGET_CALLS:,} calls: {scaled:6.2f} s (target < {target_s:g} s) "
            f"{verdict}; event by event would take ~{event_by_event:,.0f} s "
            f"({event_by_event / scaled:,.0f}x slower)"
        )
        print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
