"""Locust through the strategy core vs locust's FastHttpUser with no strategy.

Both sides call GET /api/data on the same server: the baseline with a token
fetched beforehand, the strategy side through ``locustfiles/steady.py`` with the
``cached`` strategy and an unreachable pace, so both run flat out. By default the
server is the bare app replaying quotalab's own answers (captured from
``quotalab serve --no-limits``), cheap enough that locust is the bottleneck;
``--server quotalab`` uses the mock itself. Locust runs in its own subprocess,
one process per side, alternating. Overhead = strategy CPU per request / baseline
CPU per request - 1, from the locust process's own CPU time between test start
and stop. Target: overhead <= 20%.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.auth0 import API_PATH, TOKEN_PATH, fetch_token, get_api, post_token
from bench.bare_app import RESPONSE_ENV
from bench.locust_process import LocustRun, run_locust
from bench.machine import this_machine
from bench.options import parser
from bench.processes import (
    HOST,
    REPO_ROOT,
    free_port,
    python_env,
    quotalab_argv,
    running,
    uvicorn_stack,
)
from bench.reject_path import uvicorn_argv
from bench.signing import JWKS_PATH
from bench.table import BenchResult, Figure, Verdict, render

TARGET = 0.20
BASELINE = REPO_ROOT / "bench" / "locust_baseline.py"
STRATEGY = REPO_ROOT / "locustfiles" / "steady.py"
FLAT_OUT_RATE = "100000"  # API calls/s per user: far above what one process can send


def median_of(runs: list[LocustRun], attribute: str) -> float:
    """Median of one LocustRun property over rounds."""
    return statistics.median(float(getattr(run, attribute)) for run in runs)


def replay_spec(port: int) -> tuple[str, dict[str, object]]:
    """A token from quotalab and its answers to both routes, for the replay server."""
    token_reply = post_token(port)
    token = fetch_token(port)
    api_reply = get_api(port, token)
    if api_reply.status != 200:
        raise RuntimeError(f"GET {API_PATH} answered {api_reply.status}: {api_reply.body}")
    routes = {
        f"POST {TOKEN_PATH}": token_reply,
        f"GET {API_PATH}": api_reply,
    }
    spec = {
        name: {"status": r.status, "headers": r.headers, "body": r.body}
        for name, r in routes.items()
    }
    return token, {"routes": spec}


def run_rounds(args: argparse.Namespace, host: str, token: str) -> tuple[list[LocustRun], ...]:
    """Alternate a baseline and a strategy locust run against ``host``, ``--rounds`` times."""
    baseline: list[LocustRun] = []
    strategy: list[LocustRun] = []
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
    return baseline, strategy


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__ or "", "python bench/locust_overhead.py --rounds 3 --duration 8")
    p.add_argument("--users", type=int, default=20, help="locust users per side")
    p.add_argument("--strategy", default="cached", help="strategy the measured side uses")
    p.add_argument(
        "--server",
        choices=("replay", "quotalab"),
        default="replay",
        help="replay: quotalab's captured answers served by the bare app, so locust "
        "is the bottleneck; quotalab: the mock itself",
    )
    args = p.parse_args(argv)
    port, replay_port = free_port(), free_port()
    serve = quotalab_argv(
        "serve", "--profile", "auth0", "--no-limits", "--host", HOST, "--port", str(port),
        "--workers", str(args.workers), "--store", args.store,
    )  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="quotalab-bench-") as tmp,
        running(serve, port, ready_path=JWKS_PATH, log=Path(tmp) / "mock.log"),
    ):
        token, spec = replay_spec(port)
        if args.server == "quotalab":
            baseline, strategy = run_rounds(args, f"http://{HOST}:{port}", token)
        else:
            env = python_env({RESPONSE_ENV: json.dumps(spec)})
            replay = uvicorn_argv("bench.bare_app:create_app", replay_port, args.workers)
            with running(replay, replay_port, env=env, log=Path(tmp) / "replay.log"):
                baseline, strategy = run_rounds(args, f"http://{HOST}:{replay_port}", token)
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
            "server": (
                "quotalab's answers replayed by the bare app"
                if args.server == "replay"
                else "quotalab --no-limits"
            )
            + f", {uvicorn_stack()}, {args.workers} worker(s)",
            "locust": f"1 process per side, {args.users} users, FastHttpUser",
            "rounds": f"{args.rounds} x {args.duration:g}s per side",
        },
    )  # fmt: skip
    print(render(result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
