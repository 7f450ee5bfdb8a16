"""Drive Debian's ``wrk`` against a loopback URL and read its summary back as numbers.

wrk is an external C load generator, so the figures measure the server and not a
Python client. A generated Lua script sets the method, body and headers and prints
the summary as one JSON line from wrk's ``done`` hook, so nothing parses prose.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from quotalab.errors import InputError

_MARK = "QUOTALAB_WRK "

_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"non_2xx":%d,'
    .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,'
    .. '"p50_us":%d,"p99_us":%d}\\n',
    MARK, summary.requests, summary.duration, summary.bytes, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class WrkRequest:
    """What every wrk connection sends, over and over."""

    url: str
    method: str = "GET"
    body: str = ""
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class WrkResult:
    """wrk's summary of one run."""

    requests: int
    duration_s: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Completed requests per second, whatever their status."""
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def non_2xx_share(self) -> float:
        """Share of responses that were not 2xx/3xx (wrk's ``Non-2xx or 3xx``)."""
        return self.non_2xx / self.requests if self.requests else 0.0


def _lua_long_string(text: str) -> str:
    """Quote ``text`` as a Lua long string, which needs no escaping."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def lua_script(request: WrkRequest) -> str:
    """The wrk Lua script that sends ``request`` and reports a JSON summary."""
    lines = [f'MARK = "{_MARK}"', f'wrk.method = "{request.method}"']
    if request.body:
        lines.append(f"wrk.body = {_lua_long_string(request.body)}")
    for name, value in (request.headers or {}).items():
        lines.append(f"wrk.headers[ {_lua_long_string(name)} ] = {_lua_long_string(value)}")
    return "\n".join(lines) + "\n" + _DONE_HOOK


def parse_summary(stdout: str, stderr: str = "") -> WrkResult:
    """Find the JSON line printed by the ``done`` hook in wrk's output."""
    for line in stdout.splitlines():
        if line.startswith(_MARK):
            data = json.loads(line[len(_MARK) :])
            return WrkResult(
                requests=int(data["requests"]),
                duration_s=data["duration_us"] / 1e6,
                non_2xx=int(data["non_2xx"]),
                socket_errors=sum(int(data[k]) for k in ("connect", "read", "write", "timeout")),
                p50_ms=data["p50_us"] / 1e3,
                p99_ms=data["p99_us"] / 1e3,
            )
    raise RuntimeError(f"wrk printed no summary:\n{stderr}\n{stdout}")


def wrk_binary() -> str:
    """Path of the wrk executable; a clear error when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise InputError("wrk is not installed: apt-get install wrk")
    return found


def run_wrk(
    request: WrkRequest, *, duration_s: float, connections: int, threads: int = 1
) -> WrkResult:
    """Run wrk for ``duration_s`` against a loopback URL and return its summary."""
    host = urlsplit(request.url).hostname
    if host != "127.0.0.1":
        raise InputError(f"benchmarks only target 127.0.0.1, not {host!r}")
    with tempfile.TemporaryDirectory(prefix="quotalab-wrk-") as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(lua_script(request))
        argv = [
            wrk_binary(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            request.url,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip()}")
    return parse_summary(done.stdout, done.stderr)
