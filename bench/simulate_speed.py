"""How fast the simulation plays, side by side with the same model hand-written in SimPy.

1. Cost per simulated call against ``bench/simpy_model.py`` (the same poisson
   clients, token and API buckets, 20 ms per request, naive and backoff
   clients): each side plays a short and a long span in this process, in
   alternating rounds; the marginal CPU cost per call is the difference over
   the extra calls, so start-up cost cancels out. The ratio is the median of
   the rounds' ratios. Target: <= 5x.
2. A day: ``--clients`` clients for ``--day`` of poisson, diurnal and burst
   traffic on the ``--profile`` provider (Auth0 unless told), every built-in
   strategy, each in a fresh process (so its peak RSS is its own), and a
   quarter of the span beside it: memory must not grow with the duration.
   Target: under a minute of wall time each. The compiled simulation core
   (``pip install .``, not an editable install) gets there for every one;
   run this file with that install's Python (it says which core it ran).

example: python bench/simulate_speed.py --rounds 3 --day 24h
         python bench/simulate_speed.py --skip-ratio --day 2h --strategies cached,article
         python bench/simulate_speed.py --skip-ratio --profile okta --probe 1h --traffics poisson
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.machine import this_machine
from bench.simpy_model import simulate, simulate_bucket_only
from quotalab.profiles.loader import BUILTIN_PROFILES
from quotalab.sim.core_build import core_build
from quotalab.sim.duration import parse_duration
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.strategies import NAMES

RATIO_TARGET = 5.0
DAY_TARGET_S = 60.0
MEMORY_GROWTH_LIMIT = 1.25
"""Peak RSS of the full span over that of a quarter of it: more means memory grows."""


def ours(
    strategy: str,
    clients: int,
    duration_s: float,
    traffic: str = "poisson",
    profile: str = "auth0",
) -> dict[str, float]:
    """One simulation in this process: CPU and wall seconds, calls, skipped calls."""
    settings = SimSettings(
        profile=profile,
        clients=clients,
        duration_s=duration_s,
        traffic=traffic,
        strategies=(strategy,),
    )
    wall, cpu = time.perf_counter(), time.process_time()
    run = run_strategy(settings, strategy)
    tallies = run.result.tallies.values()
    return {
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "calls": sum(t.calls for t in tallies),
        "ok": sum(t.ok for t in tallies),
        "skipped": run.result.skipped_calls,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def simpy_side(model: str, clients: int, duration_s: float) -> dict[str, float]:
    cpu = time.process_time()
    if model == "bucket only":
        calls, ok, _ = simulate_bucket_only(clients, duration_s)
    else:
        calls, ok, _ = simulate(model, clients, duration_s)
    return {"cpu_s": time.process_time() - cpu, "calls": calls, "ok": ok}


def marginal_us(short: dict[str, float], long: dict[str, float]) -> float:
    """CPU microseconds per call between a short and a long run of one model."""
    extra = max(long["calls"] - short["calls"], 1)
    return (long["cpu_s"] - short["cpu_s"]) / extra * 1e6


def ratios(options: argparse.Namespace) -> list[str]:
    short_s, long_s = (parse_duration(s) for s in options.spans.split(","))
    clients, lines, verdicts = options.clients, [], []
    lines.append(
        f"Cost per simulated call, {clients} poisson clients, spans {options.spans}, "
        f"{options.rounds} rounds (median):"
    )
    for strategy in ("naive", "backoff"):
        rows: list[tuple[float, float, float]] = []
        for _ in range(options.rounds):
            q = marginal_us(ours(strategy, clients, short_s), ours(strategy, clients, long_s))
            s = marginal_us(
                simpy_side(strategy, clients, short_s), simpy_side(strategy, clients, long_s)
            )
            b = marginal_us(
                simpy_side("bucket only", clients, short_s),
                simpy_side("bucket only", clients, long_s),
            )
            rows.append((q, s, b))
        ratio = statistics.median(q / s for q, s, _ in rows)
        bucket_ratio = statistics.median(q / b for q, _, b in rows)
        q_us = statistics.median(q for q, _, _ in rows)
        s_us = statistics.median(s for _, s, _ in rows)
        b_us = statistics.median(b for _, _, b in rows)
        verdict = "PASS" if ratio <= RATIO_TARGET else "MISS"
        lines.append(
            f"  {strategy:<8} quotalab {q_us:6.1f} us/call  SimPy {s_us:6.1f} us/call  "
            f"ratio {ratio:5.2f}x (target <= {RATIO_TARGET:g}x) {verdict}   "
            f"[SimPy bucket only {b_us:.1f} us/call: {bucket_ratio:.1f}x]"
        )
        verdicts.append(verdict)
    return lines


def in_subprocess(
    strategy: str, clients: int, duration_s: float, traffic: str, profile: str
) -> dict[str, float]:
    args = [sys.executable, __file__, "--one", strategy, str(clients), str(duration_s), traffic]
    args.append(profile)
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def days(options: argparse.Namespace) -> None:
    """Print one line per traffic and strategy as each is measured."""
    day_s = parse_duration(options.day)
    clients = options.clients
    profile = options.profile
    print(
        f"{clients} clients x {options.day} on the {profile} profile, one process per run "
        f"(target: under {DAY_TARGET_S:g} s wall; memory: peak RSS of the span <= "
        f"{MEMORY_GROWTH_LIMIT:g}x that of a quarter of it):",
        flush=True,
    )
    probe_s = parse_duration(options.probe) if options.probe else None
    for traffic in options.traffics.split(","):
        for strategy in options.strategies.split(","):
            if probe_s is not None and probe_s < day_s:
                probe = in_subprocess(strategy, clients, probe_s, traffic, profile)
                scale = day_s / probe_s
                if probe["wall_s"] * scale > 2 * DAY_TARGET_S:
                    wall, cpu = probe["wall_s"] * scale, probe["cpu_s"] * scale
                    print(
                        f"  {traffic:<8} {strategy:<15} {int(probe['calls'] * scale):>10,} calls "
                        f"~{wall:6.0f} s wall (~{cpu:.0f} s CPU) "
                        f"MISS  [{scale:g} x a {options.probe} run: "
                        f"{probe['wall_s']:.1f} s wall, {probe['cpu_s']:.1f} s CPU]",
                        flush=True,
                    )
                    continue
            quarter = in_subprocess(strategy, clients, day_s / 4, traffic, profile)
            full = in_subprocess(strategy, clients, day_s, traffic, profile)
            growth = full["max_rss_mb"] / max(quarter["max_rss_mb"], 1.0)
            time_verdict = "PASS" if full["wall_s"] < DAY_TARGET_S else "MISS"
            memory_verdict = "flat" if growth <= MEMORY_GROWTH_LIMIT else "GROWS"
            print(
                f"  {traffic:<8} {strategy:<15} {int(full['calls']):>10,} calls "
                f"{full['wall_s']:7.1f} s wall ({full['cpu_s']:.1f} s CPU) {time_verdict}  "
                f"skipped {full['skipped'] / max(full['calls'], 1):6.1%}  "
                f"peak RSS {full['max_rss_mb']:.0f} MB vs {quarter['max_rss_mb']:.0f} MB "
                f"for a quarter: {memory_verdict}",
                flush=True,
            )


def main() -> None:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0],
        epilog=doc[doc.index("example:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--spans", default="1m,6m", help="short,long spans of the cost ratio")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the ratio")
    parser.add_argument("--day", default="24h", help="the span of the day figures")
    parser.add_argument("--traffics", default="poisson,diurnal,burst")
    parser.add_argument("--strategies", default=",".join(NAMES))
    parser.add_argument(
        "--profile", default="auth0", choices=BUILTIN_PROFILES, help="the day figures' provider"
    )
    parser.add_argument("--skip-day", action="store_true", help="only the cost ratio")
    parser.add_argument(
        "--probe",
        default="",
        help="play this span first; a strategy that would take over twice the target "
        "for the day is reported from it (x day/span) instead of played whole",
    )
    parser.add_argument("--skip-ratio", action="store_true", help="only the day figures")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        strategy, clients, duration_s, traffic, profile = options.one
        print(json.dumps(ours(strategy, int(clients), float(duration_s), traffic, profile)))
        return
    print(this_machine().describe(), flush=True)
    # Plain Python from an editable install; compiled from a wheel (`pip install .`).
    print(f"simulation core: {core_build()}", flush=True)
    if not options.skip_ratio:
        print("\n".join(ratios(options)), flush=True)
    if not options.skip_day:
        if not options.skip_ratio:
            print()
        days(options)


if __name__ == "__main__":
    main()
