"""A master/worker run on loopback: two worker processes stand in for two other machines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from quotalab.clock import SystemClock
from quotalab.counters import MemoryCounters
from quotalab.limits import open_store
from quotalab.profiles import load_config
from quotalab.run.live_measurements import server_totals
from quotalab.run.live_tally import Tally
from quotalab.server.mock_provider import MockProvider
from quotalab.server.runner import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
STRATEGIES = ("naive", "cached")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def target() -> Iterator[str]:
    provider = MockProvider(
        load_config("auth0", None), SystemClock(), open_store("memory://"), MemoryCounters()
    )
    with serve_in_thread(provider, "127.0.0.1", 0) as base_url:
        yield base_url


def quotalab(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "quotalab", *args],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def tally_of(path: Path) -> Tally:
    return Tally.from_json(json.loads(path.read_text("utf-8")))


@pytest.mark.live
def test_master_and_two_workers_report_the_servers_counts(tmp_path: Path, target: str) -> None:
    port = str(free_port())
    worker = ("worker", "--master-host", "127.0.0.1", "--master-port", port)
    workers = [quotalab(*worker, "--runs", str(len(STRATEGIES))) for _ in range(2)]
    try:
        run = quotalab(
            "run", "--master", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", port, "--target", target, "--strategies", ",".join(STRATEGIES),
            "--users", "4", "--rate", "3", "--duration", "3s", "--out", str(tmp_path / "reports"),
        )  # fmt: skip
        output, _ = run.communicate(timeout=50)
        assert run.returncode == 0, output
        worker_output = [w.communicate(timeout=10)[0] for w in workers]
    finally:
        for process in (*workers, run):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "counts differ" not in output
    for text in worker_output:
        assert f"run {len(STRATEGIES)} ended" in text, text

    run_dir = (tmp_path / "reports" / "latest").resolve()
    figures = json.loads((run_dir / "report.json").read_text())["strategies"]
    for name in STRATEGIES:
        tallies = [tally_of(path) for path in (run_dir / "locust" / f"tally-{name}").glob("*.json")]
        assert len(tallies) == 2
        assert all(t.total("api") > 0 for t in tallies), "a worker sent no calls"
        assert sum(t.total("api") for t in tallies) == figures[name]["api_calls"]
        assert sum(t.total("token") for t in tallies) == figures[name]["token_requests"]
    # The server is reset before each strategy, so it still holds the last one's counts.
    server = server_totals(httpx.get(f"{target}/_admin/stats").json(), [])
    last = figures[STRATEGIES[-1]]
    assert server["api_calls"] == last["api_calls"] > 0
    assert server["token_requests"] == last["token_requests"]
    # One token cache per worker process: two workers fetch exactly two tokens.
    assert server["tokens_issued"] == 2
