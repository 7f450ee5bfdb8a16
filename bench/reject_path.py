"""429 reject path of POST /oauth/token vs a bare ASGI app answering the same 429.

Both run under uvicorn with the same worker count; wrk alternates between them.
The mock gets a one-token bucket that never refills in the run, so after the first
request every answer is the limiter's 429; the bare app replays that exact 429
(status, headers, body) without doing anything else. The ratio is the mock's 429s
per second of server CPU over the bare app's, each round's servers timed by their
CPU use (the req/s ratio is shown too: the same when each server has a core to
itself). Targets: over HTTP mock/bare >= 0.8 on httptools + uvloop (>= 0.7 on h11
or the asyncio loop); both ASGI apps called in-process, one 429 of the mock <= 10x
one of the bare app.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.app_cost import app_seconds_per_request, http_scope
from bench.auth0 import TOKEN_BODY, TOKEN_HEADERS, TOKEN_PATH, Captured, post_token
from bench.bare_app import RESPONSE_ENV, fixed_response_app
from bench.machine import this_machine
from bench.options import parser
from bench.processes import (
    HOST,
    free_port,
    group_cpu_s,
    python_env,
    quotalab_argv,
    resolved_stack,
    running,
    uvicorn_stack,
)
from bench.protocol_cost import protocol_seconds_per_request, request_bytes
from bench.rounds import side_by_side
from bench.table import BenchResult, Figure, Verdict, render
from bench.wrk import WrkRequest

TARGET_FAST = 0.8
"""quotalab / bare over HTTP on uvicorn with httptools and uvloop."""
TARGET = 0.7
"""The same on any other stack (h11 or the asyncio loop): more of a request is uvicorn's."""
BUSY_ENOUGH = 0.9
"""Below this share of a core a server was not saturated: req/s then says little."""
IN_PROCESS_TARGET = 10.0
"""Seconds per 429 of the quotalab ASGI app / the bare app's, both called in-process."""

# One request admitted, then 429s: refill of one token per ~11 days.
TINY_BUCKET_TOML = """\
[limits.oauth_token]
algorithm = "token_bucket"
burst = 1
refill_rate = 0.000001
refill = "continuous"
"""


def drain(port: int, attempts: int = 50) -> Captured:
    """POST until the limiter answers 429; that response is what the baseline replays."""
    for _ in range(attempts):
        captured = post_token(port)
        if captured.status == 429:
            return captured
    raise RuntimeError(f"no 429 after {attempts} token requests; last: {captured.status}")


def app_costs(config: Path, reject: Captured, duration_s: float) -> tuple[float, float]:
    """Seconds per 429 of the quotalab ASGI app and of the bare app, called in-process."""
    from quotalab.server.asgi import create_app
    from quotalab.server.runner import build_provider

    body = TOKEN_BODY.encode()
    scope = http_scope("POST", TOKEN_PATH, TOKEN_HEADERS, body)
    # The warm-up calls spend the one-token bucket, so every timed call is a 429.
    mock = create_app(build_provider("auth0", config))
    bare = fixed_response_app(reject.status, list(reject.headers), reject.body.encode())
    return (
        app_seconds_per_request(mock, scope, body, duration_s),
        app_seconds_per_request(bare, scope, body, duration_s),
    )


def protocol_costs(
    reject: Captured, http: str, loop: str, duration_s: float
) -> tuple[float, float]:
    """Seconds per request of the bare app behind uvicorn's own protocol and behind the
    one ``quotalab serve`` uses (the read deadline), in-process on the same parser and loop."""
    from quotalab.server.read_timeouts import protocol_for

    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as stock
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as stock
    bare = fixed_response_app(reject.status, list(reject.headers), reject.body.encode())
    request = request_bytes("POST", TOKEN_PATH, TOKEN_HEADERS, TOKEN_BODY.encode())
    return (
        protocol_seconds_per_request(stock, bare, request, loop=loop, duration_s=duration_s),
        protocol_seconds_per_request(
            protocol_for(http), bare, request, loop=loop, duration_s=duration_s
        ),
    )


def uvicorn_argv(
    app: str, port: int, workers: int, http: str = "auto", loop: str = "auto"
) -> list[str]:
    """uvicorn serving ``app`` (a factory) with the settings ``quotalab serve`` uses.

    Those are simulator/quotalab/cli/serve.py's: no ``server`` header, log level warning.
    """
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-server-header",
        "--log-level",
        "warning",
        "--http",
        http,
        "--loop",
        loop,
    ]


def http_target(stack: str) -> float:
    """The HTTP ratio's target for ``stack`` as ``uvicorn_stack`` names it."""
    return TARGET_FAST if stack == "uvicorn (httptools + uvloop)" else TARGET


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__ or "", "python bench/reject_path.py --rounds 3 --duration 8")
    options.add_argument(
        "--http", choices=("auto", "h11", "httptools"), default="auto", help="both servers' parser"
    )
    options.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="both servers' loop"
    )
    args = options.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="quotalab-bench-") as tmp:
        config = Path(tmp) / "tiny-bucket.toml"
        config.write_text(TINY_BUCKET_TOML)
        mock_port, bare_port = free_port(), free_port()
        mock_argv = quotalab_argv(
            "serve",
            "--profile",
            "auth0",
            "--config",
            str(config),
            "--host",
            HOST,
            "--port",
            str(mock_port),
            "--workers",
            str(args.workers),
            "--store",
            args.store,
            "--http",
            args.http,
            "--loop",
            args.loop,
        )
        with running(mock_argv, mock_port, log=Path(tmp) / "mock.log") as mock_server:
            reject = drain(mock_port)
            spec = {"status": reject.status, "headers": reject.headers, "body": reject.body}
            bare_env = python_env({RESPONSE_ENV: json.dumps(spec)})
            bare_argv = uvicorn_argv(
                "bench.bare_app:create_app", bare_port, args.workers, args.http, args.loop
            )
            with running(
                bare_argv, bare_port, env=bare_env, log=Path(tmp) / "bare.log"
            ) as bare_server:
                print(f"mock 429: {reject.body}", file=sys.stderr)
                runs = side_by_side(
                    WrkRequest(
                        f"http://{HOST}:{mock_port}{TOKEN_PATH}", "POST", TOKEN_BODY, TOKEN_HEADERS
                    ),
                    WrkRequest(
                        f"http://{HOST}:{bare_port}{TOKEN_PATH}", "POST", TOKEN_BODY, TOKEN_HEADERS
                    ),
                    rounds=args.rounds,
                    duration_s=args.duration,
                    connections=args.connections,
                    cpu=(
                        lambda: group_cpu_s(mock_server.pid),
                        lambda: group_cpu_s(bare_server.pid),
                    ),
                )
        mock_app_s, bare_app_s = app_costs(config, reject, duration_s=1.0)
        stock_protocol_s, our_protocol_s = protocol_costs(
            reject, *resolved_stack(args.http, args.loop), duration_s=1.0
        )
    reject_share = min(r.non_2xx_share for r in runs.a)
    stack = uvicorn_stack(args.http, args.loop)
    result = BenchResult(
        benchmark="429 reject path: POST /oauth/token (limits on) vs bare ASGI 429",
        machine=this_machine(),
        figures=(
            Figure("quotalab /oauth/token 429", runs.a_rps, "req/s"),
            Figure("bare ASGI fixed 429", runs.b_rps, "req/s"),
            Figure("quotalab p99 latency, worst round", max(r.p99_ms for r in runs.a), "ms"),
            Figure("bare p99 latency, worst round", max(r.p99_ms for r in runs.b), "ms"),
            Figure("share of quotalab answers that were 429", reject_share * 100, "%"),
            Figure("quotalab server CPU per 429 over HTTP", runs.a_cpu_us, "us"),
            Figure("bare server CPU per 429 over HTTP", runs.b_cpu_us, "us"),
            Figure("quotalab server busy (share of a core)", runs.a_busy * 100, "%"),
            Figure("bare server busy (share of a core)", runs.b_busy * 100, "%"),
            Figure("ratio of req/s (wall clock), quotalab / bare", runs.ratio, "x"),
            Figure("quotalab ASGI app alone, in-process, per 429", mock_app_s * 1e6, "us"),
            Figure("bare ASGI app alone, in-process, per 429", bare_app_s * 1e6, "us"),
            Figure("bare app behind uvicorn's protocol, in-process", stock_protocol_s * 1e6, "us"),
            Figure(
                "bare app behind quotalab serve's protocol, in-process",
                our_protocol_s * 1e6,
                "us",
            ),
        ),
        verdict=Verdict(
            "ratio quotalab / bare, requests per server CPU second",
            runs.cpu_ratio,
            http_target(stack),
        ),
        settings={
            "server": stack,
            "workers": str(args.workers),
            "wrk": f"-t1 -c{args.connections}",
            "rounds": f"{args.rounds} x {args.duration:g}s per side",
        },
        more_verdicts=(
            Verdict(
                "in-process quotalab / bare, time per 429",
                mock_app_s / bare_app_s,
                IN_PROCESS_TARGET,
                higher_is_better=False,
            ),
        ),
    )
    if min(runs.a_busy, runs.b_busy) < BUSY_ENOUGH:
        result = replace(
            result,
            notes=(
                "a server used less than 90% of a core under load: the machine was busy, "
                "so req/s measured the scheduler as much as the servers; CPU per request did not",
            ),
        )
    print(render(result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
