"""Token issuance (``--no-limits``) vs the ceiling set by RS256 signing alone.

Every 200 from POST /oauth/token carries a freshly signed RS256 JWT, so a single
worker can never beat 1 / (time of one signature). This measures that signature
time in-process with a key of the server's size, then alternates it with wrk
rounds against the server. Target: server req/s >= 0.8 of the signing ceiling.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.auth0 import TOKEN_BODY, TOKEN_HEADERS, TOKEN_PATH, fetch_token
from bench.machine import this_machine
from bench.options import parser
from bench.processes import HOST, free_port, quotalab_argv, running, uvicorn_stack
from bench.rounds import warm_up
from bench.signing import JWKS_PATH, SignCost, measure_signing, server_key_bits
from bench.table import BenchResult, Figure, Verdict, render
from bench.wrk import WrkRequest, WrkResult, run_wrk

TARGET = 0.8


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__ or "", "python bench/issuance.py --rounds 3 --duration 8")
    p.set_defaults(connections=16)
    args = p.parse_args(argv)
    if args.workers != 1:
        print("note: the signing ceiling is per core; --workers > 1 overstates the ratio")
    port = free_port()
    serve = quotalab_argv(
        "serve",
        "--profile",
        "auth0",
        "--no-limits",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--store",
        args.store,
    )
    request = WrkRequest(f"http://{HOST}:{port}{TOKEN_PATH}", "POST", TOKEN_BODY, TOKEN_HEADERS)
    served: list[WrkResult] = []
    costs: list[SignCost] = []
    with (
        tempfile.TemporaryDirectory(prefix="quotalab-bench-") as tmp,
        running(serve, port, ready_path=JWKS_PATH, log=Path(tmp) / "mock.log"),
    ):
        fetch_token(port)  # fails loudly unless the server issues tokens
        key_bits = server_key_bits(port)
        warm_up(request, args.connections)
        for index in range(args.rounds):
            result = run_wrk(request, duration_s=args.duration, connections=args.connections)
            cost = measure_signing(key_bits, args.duration / 2)
            served.append(result)
            costs.append(cost)
            print(
                f"  round {index + 1}/{args.rounds}: server {result.rps:,.0f} req/s "
                f"(non-2xx {result.non_2xx_share:.1%}), signing ceiling "
                f"{cost.ceiling_rps:,.0f}/s",
                file=sys.stderr,
            )
    ratio = statistics.median(r.rps / c.ceiling_rps for r, c in zip(served, costs, strict=True))
    non_2xx = max(r.non_2xx_share for r in served)
    report = BenchResult(
        benchmark="token issuance (--no-limits) vs RS256 signing ceiling",
        machine=this_machine(),
        figures=(
            Figure(
                "quotalab POST /oauth/token 200", statistics.median(r.rps for r in served), "req/s"
            ),
            Figure(
                "jwt.encode RS256 alone, 1 core",
                statistics.median(c.ceiling_rps for c in costs),
                "tokens/s",
            ),
            Figure(
                "raw RSA PKCS#1 v1.5 sign alone",
                statistics.median(1 / c.raw_sign_s for c in costs),
                "sig/s",
            ),
            Figure("quotalab p99 latency, worst round", max(r.p99_ms for r in served), "ms"),
            Figure("share of answers not 2xx", non_2xx * 100, "%"),
        ),
        verdict=Verdict("ratio quotalab / signing ceiling", ratio, TARGET),
        settings={
            "server": uvicorn_stack(),
            "workers": str(args.workers),
            "key": f"RSA-{costs[0].key_bits if costs else '?'}",
            "wrk": f"-t1 -c{args.connections}",
            "rounds": f"{args.rounds} x {args.duration:g}s",
        },
    )
    print(render(report, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
