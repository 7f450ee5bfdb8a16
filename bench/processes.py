"""Start a server in its own process group on a loopback port, wait for it, stop it.

Every server a benchmark measures runs as a subprocess: the benchmark process only
orchestrates, so it never competes with the server for the GIL.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PROC = Path("/proc")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment with the repository on PYTHONPATH, plus ``extra``."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


def quotalab_argv(*args: str) -> list[str]:
    """``quotalab ARGS`` run with this interpreter from the repository."""
    return [sys.executable, "-m", "quotalab", *args]


def wait_for_http(port: int, *, path: str = "/", timeout_s: float = 30.0) -> None:
    """Block until something answers HTTP on ``port``; any status counts as up."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError as error:
            last = error
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on {HOST}:{port} within {timeout_s:.0f}s: {last}")


@contextlib.contextmanager
def running(
    argv: Sequence[str],
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
    cwd: Path | None = None,
    log: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (a server listening on ``port``) for the duration of the block."""
    out: IO[bytes] | None = open(log, "wb") if log else None  # noqa: SIM115
    proc = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else python_env(),
        cwd=cwd or REPO_ROOT,
        stdout=out if out is not None else subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            wait_for_http(port, path=ready_path)
        except RuntimeError:
            if proc.poll() is not None:
                detail = log.read_text()[-2000:] if log else ""
                raise RuntimeError(
                    f"{argv[0]} exited {proc.returncode} before listening: {detail}"
                ) from None
            raise
        yield proc
    finally:
        stop(proc)
        if out is not None:
            out.close()


def stop(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop the server we started and its workers: TERM its process group, then KILL."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def resolved_stack(http: str = "auto", loop: str = "auto") -> tuple[str, str]:
    """The HTTP parser and event loop uvicorn runs with (``auto``: what it picks here)."""
    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return http, loop


def uvicorn_stack(http: str = "auto", loop: str = "auto") -> str:
    """The same, as the tables show it: ``uvicorn (httptools + uvloop)``."""
    parser, event_loop = resolved_stack(http, loop)
    return f"uvicorn ({parser} + {event_loop})"


def stat_group_and_ticks(stat: str) -> tuple[int, int]:
    """A ``/proc/<pid>/stat`` line's process group and CPU time so far (user + system, ticks)."""
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return int(fields[2]), int(fields[11]) + int(fields[12])


def group_cpu_s(pgid: int, proc: Path = PROC) -> float:
    """CPU seconds used so far by the live processes of group ``pgid`` (a server and its
    workers: ``running`` starts each server as the leader of its own group). Linux only."""
    ticks = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            group, used = stat_group_and_ticks((entry / "stat").read_text())
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        if group == pgid:
            ticks += used
    return ticks / os.sysconf("SC_CLK_TCK")
