"""Token issuance: quotalab vs the npm package ``oauth2-mock-server`` on this machine.

Both answer a client-credentials POST with a freshly signed RS256 JWT. The npm
package is installed outside the repository (``~/.cache/quotalab-bench`` or
``$QUOTALAB_BENCH_CACHE``); when node or npm is missing or the install fails the
benchmark says why and exits 0 without a verdict. Target: quotalab >= 2.5x its req/s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.auth0 import TOKEN_BODY, TOKEN_HEADERS, TOKEN_PATH, fetch_token
from bench.machine import this_machine
from bench.options import parser
from bench.processes import HOST, free_port, quotalab_argv, running, uvicorn_stack
from bench.rounds import side_by_side
from bench.signing import JWKS_PATH, server_key_bits
from bench.table import BenchResult, Figure, Verdict, render
from bench.wrk import WrkRequest

TARGET = 2.5
PACKAGE = "oauth2-mock-server"
OMS_TOKEN_PATH = "/token"
OMS_JWKS_PATH = "/jwks"
OMS_BODY = "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret"
OMS_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def cache_dir() -> Path:
    """Where the npm package lives: never inside the repository."""
    return Path(os.environ.get("QUOTALAB_BENCH_CACHE", Path.home() / ".cache" / "quotalab-bench"))


def install(prefix: Path) -> tuple[Path | None, str]:
    """Install (or reuse) the package; returns its CLI script and version, or None and why."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "node and npm are needed to run oauth2-mock-server"
    package_dir = prefix / "node_modules" / PACKAGE
    if not (package_dir / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        argv = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), PACKAGE]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
        except subprocess.TimeoutExpired:
            return None, f"npm install {PACKAGE} took over 240 s"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"npm install {PACKAGE} failed: {last}"
    manifest = json.loads((package_dir / "package.json").read_text())
    bin_field = manifest.get("bin", {})
    relative = bin_field.get(PACKAGE) if isinstance(bin_field, dict) else bin_field
    script = package_dir / str(relative)
    if not relative or not script.exists():
        return None, f"{PACKAGE} installed but its command ({relative}) is missing"
    return script, str(manifest.get("version", "?"))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__ or "", "python bench/vs_oauth2_mock_server.py --rounds 3 --duration 8")
    p.set_defaults(connections=16)
    args = p.parse_args(argv)
    script, version = install(cache_dir())
    if script is None:
        print(f"skipped: {version}")
        return 0
    node = shutil.which("node") or "node"
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    mock_port, oms_port = free_port(), free_port()
    serve = quotalab_argv(
        "serve",
        "--profile",
        "auth0",
        "--no-limits",
        "--host",
        HOST,
        "--port",
        str(mock_port),
        "--workers",
        str(args.workers),
        "--store",
        args.store,
    )
    oms = [node, str(script), "-a", HOST, "-p", str(oms_port)]
    with (
        tempfile.TemporaryDirectory(prefix="quotalab-bench-") as tmp,
        running(serve, mock_port, ready_path=JWKS_PATH, log=Path(tmp) / "mock.log"),
        running(oms, oms_port, ready_path=OMS_JWKS_PATH, log=Path(tmp) / "oms.log"),
    ):
        fetch_token(mock_port)
        mock_bits = server_key_bits(mock_port)
        oms_bits = server_key_bits(oms_port, OMS_JWKS_PATH)
        runs = side_by_side(
            WrkRequest(f"http://{HOST}:{mock_port}{TOKEN_PATH}", "POST", TOKEN_BODY, TOKEN_HEADERS),
            WrkRequest(f"http://{HOST}:{oms_port}{OMS_TOKEN_PATH}", "POST", OMS_BODY, OMS_HEADERS),
            rounds=args.rounds,
            duration_s=args.duration,
            connections=args.connections,
        )
    failed = max(max(r.non_2xx_share for r in runs.a), max(r.non_2xx_share for r in runs.b))
    result = BenchResult(
        benchmark=f"token issuance: quotalab vs {PACKAGE} {version} (npm)",
        machine=this_machine(),
        figures=(
            Figure("quotalab POST /oauth/token 200", runs.a_rps, "req/s"),
            Figure(f"{PACKAGE} POST /token 200", runs.b_rps, "req/s"),
            Figure("quotalab p99 latency, worst round", max(r.p99_ms for r in runs.a), "ms"),
            Figure(f"{PACKAGE} p99 latency, worst round", max(r.p99_ms for r in runs.b), "ms"),
            Figure("worst share of answers not 2xx", failed * 100, "%"),
        ),
        verdict=Verdict(f"ratio quotalab / {PACKAGE}", runs.ratio, TARGET),
        settings={
            "quotalab": f"{uvicorn_stack()}, {args.workers} worker(s), RSA-{mock_bits}",
            PACKAGE: f"node {node_version}, 1 process, RSA-{oms_bits}",
            "wrk": f"-t1 -c{args.connections}",
            "rounds": f"{args.rounds} x {args.duration:g}s per side",
        },
    )
    print(render(result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
