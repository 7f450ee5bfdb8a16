"""Locust through the strategy core vs locust's FastHttpUser with no strategy.

Both sides call GET /api/data on the same quotalab server (``--no-limits``, so
every call is a 200): the baseline with a token fetched beforehand, the strategy
side through ``locustfiles/steady.py`` with the ``cached`` strategy and an
unreachable pace, so both run flat out. Locust runs in its own subprocess, one
process per side, alternating. Overhead = strategy CPU per request / baseline CPU
per request - 1, from the locust process's own CPU time between test start and
stop. Target: overhead <= 20%.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.auth0 import fetch_token
from bench.locust_process import LocustRun, run_locust
from bench.machine import this_machine
from bench.options import parser
from bench.processes import HOST, REPO_ROOT, free_port, quotalab_argv, running, uvicorn_stack
from bench.signing import JWKS_PATH
from bench.table import BenchResult, Figure, Verdict, render

TARGET = 0.20
BASELINE = REPO_ROOT / "bench" / "locust_baseline.py"
STRATEGY = REPO_ROOT / "locustfiles" / "steady.py"
FLAT_OUT_RATE = "100000"  # API calls/s per user: far above what one process can send


def median_of(runs: list[LocustRun], attribute: str) -> float:
    """Median of one LocustRun property over rounds."""
    return statistics.median(float(getattr(run, attribute)) for run in runs)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__ or "", "python bench/locust_overhead.py --rounds 3 --duration 8")
    p.add_argument("--users", type=int, default=20, help="locust users per side")
    p.add_argument("--strategy", default="cached", help="strategy the measured side uses")
    args = p.parse_args(argv)
    port = free_port()
    host = f"http://{HOST}:{port}"
    serve = quotalab_argv(
        "serve", "--profile", "auth0", "--no-limits", "--host", HOST, "--port", str(port),
        "--workers", str(args.workers), "--store", args.store,
    )  # fmt: skip
    baseline: list[LocustRun] = []
    strategy: list[LocustRun] = []
    with (
        tempfile.TemporaryDirectory(prefix="quotalab-bench-") as tmp,
        running(serve, port, ready_path=JWKS_PATH, log=Path(tmp) / "mock.log"),
    ):
        token = fetch_token(port)
        for index in range(args.rounds):
            base = run_locust(
                BASELINE, host, users=args.users, duration_s=args.duration,
                env={"QUOTALAB_BENCH_TOKEN": token},
            )  # fmt: skip
            strat = run_locust(
                STRATEGY, host, users=args.users, duration_s=args.duration,
                extra=("--strategy", args.strategy, "--rate", FLAT_OUT_RATE),
            )  # fmt: skip
            baseline.append(base)
            strategy.append(strat)
            print(
                f"  round {index + 1}/{args.rounds}: baseline {base.rps:,.0f} req/s "
                f"{base.cpu_us_per_request:,.0f} us CPU/req; {args.strategy} {strat.rps:,.0f} "
                f"req/s {strat.cpu_us_per_request:,.0f} us CPU/req",
                file=sys.stderr,
            )
    overhead = statistics.median(
        s.cpu_us_per_request / b.cpu_us_per_request - 1
        for s, b in zip(strategy, baseline, strict=True)
    )
    failures = sum(r.failures for r in baseline + strategy)
    result = BenchResult(
        benchmark=f"locust overhead: {args.strategy} strategy core vs plain FastHttpUser",
        machine=this_machine(),
        figures=(
            Figure("FastHttpUser, no strategy: locust CPU/request",
                   median_of(baseline, "cpu_us_per_request"), "us"),
            Figure(f"{args.strategy} strategy: locust CPU/request",
                   median_of(strategy, "cpu_us_per_request"), "us"),
            Figure("FastHttpUser, no strategy: throughput", median_of(baseline, "rps"), "req/s"),
            Figure(f"{args.strategy} strategy: throughput", median_of(strategy, "rps"), "req/s"),
            Figure("failed requests (both sides)", failures, "requests"),
        ),
        verdict=Verdict("overhead (CPU per request)", overhead, TARGET, higher_is_better=False),
        settings={
            "server": f"quotalab --no-limits, {uvicorn_stack()}, {args.workers} worker(s)",
            "locust": f"1 process per side, {args.users} users, FastHttpUser",
            "rounds": f"{args.rounds} x {args.duration:g}s per side",
        },
    )  # fmt: skip
    print(render(result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
