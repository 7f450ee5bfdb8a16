"""Profile the mock server under wrk load with py-spy and print where its time goes.

Used to explain a missed target: ``reject`` profiles the 429 path (one-token bucket),
``issuance`` the 200 path with ``--no-limits``. Needs ``pip install py-spy`` (not a
project dependency: only this diagnostic uses it). Prints where the
samples went: self time by library, then quotalab's own frames by inclusive share.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python bench/<name>.py

from bench.auth0 import TOKEN_BODY, TOKEN_HEADERS, TOKEN_PATH
from bench.processes import HOST, free_port, quotalab_argv, running
from bench.reject_path import TINY_BUCKET_TOML, drain
from bench.signing import JWKS_PATH
from bench.wrk import WrkRequest, run_wrk

AREAS = {
    "quotalab": "quotalab (simulator/quotalab/)",
    "uvicorn": "uvicorn",
    "h11": "h11 (HTTP parsing)",
    "httptools": "httptools (HTTP parsing)",
    "asyncio": "asyncio event loop",
    "selectors.py": "asyncio event loop",
    "starlette": "starlette",
    "jwt": "PyJWT + cryptography",
    "cryptography": "PyJWT + cryptography",
    "json": "json",
}


def frame_area(frame: str) -> str:
    """Which library a ``func (path/file.py:line)`` frame belongs to."""
    location = frame.rpartition("(")[2]
    parts = location.split(":", 1)[0].split("/")
    if "quotalab" in parts:
        return AREAS["quotalab"]
    return AREAS.get(parts[0], "other")


def summarize(collapsed: Path, top: int) -> str:
    """Self time by library, then quotalab's own frames by inclusive share."""
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        functions = {frame.rpartition(":")[0] + ")" for frame in frames}
        for function in functions:
            if frame_area(function) == AREAS["quotalab"] and "__main__" not in function:
                inclusive[function] += count
        areas[frame_area(frames[-1])] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "self time by library:"]
    lines += [f"  {n / total:6.1%}  {area}" for area, n in areas.most_common()]
    lines += ["", "quotalab frames, inclusive (anywhere on the stack):"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__,
        epilog="example: python bench/profile_server.py reject --duration 8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", choices=("reject", "issuance"), help="which server path to load")
    p.add_argument("--duration", type=float, default=8.0, help="seconds of load while sampling")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections (wrk -c)")
    p.add_argument("--top", type=int, default=25, help="how many frames to list")
    p.add_argument("--keep", type=Path, help="also write the collapsed stacks to this file")
    args = p.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="quotalab-profile-") as tmp:
        serve = ["serve", "--profile", "auth0", "--host", HOST, "--port", str(port)]
        if args.path == "reject":
            config = Path(tmp) / "tiny-bucket.toml"
            config.write_text(TINY_BUCKET_TOML)
            serve += ["--config", str(config)]
        else:
            serve += ["--no-limits"]
        with running(quotalab_argv(*serve), port, ready_path=JWKS_PATH) as server:
            if args.path == "reject":
                drain(port)
            request = WrkRequest(f"http://{HOST}:{port}{TOKEN_PATH}", "POST", TOKEN_BODY,
                                 TOKEN_HEADERS)  # fmt: skip
            out = Path(tmp) / "stacks.txt"
            sampler = subprocess.Popen(
                [py_spy, "record", "--pid", str(server.pid), "--format", "raw", "--rate", "250",
                 "--duration", str(round(args.duration)), "--output", str(out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            result = run_wrk(request, duration_s=args.duration, connections=args.connections)
            sampler.wait(timeout=args.duration + 30)
        print(f"{args.path}: {result.rps:,.0f} req/s under py-spy (sampling slows it)")
        print(summarize(out, args.top))
        if args.keep:
            args.keep.write_text(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
