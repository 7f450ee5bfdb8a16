"""Two server workers on one Redis: one bucket, one set of counts, no over-admission."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.limits.redis_fixtures import open_test_redis, redis_url

ROOT = Path(__file__).resolve().parents[2]
BURST = 20
TOKEN_BODY = {
    "grant_type": "client_credentials",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
    "audience": "https://api.quotalab.test/",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_admin/stats", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            try:
                process.wait(timeout=0.1)  # not bound yet; returns only if it exited
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"server exited: {process.communicate()[1]}")
    pytest.fail("server did not start within 30 s")


@pytest.mark.live
@pytest.mark.redis
def test_two_workers_admit_exactly_one_burst_and_count_every_request(tmp_path: Path) -> None:
    url = redis_url()
    open_test_redis("quotalab-probe:").reset()  # skips locally / fails in CI without Redis
    config = tmp_path / "tight.toml"
    # A bucket that refills too slowly to matter during the test: capacity is exactly BURST.
    config.write_text(f"[limits.oauth_token]\nburst = {BURST}\nrefill_rate = 0.001\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "quotalab", "serve", "--port", str(port)]
    command += ["--workers", "2", "--store", url, "--config", str(config)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until_up(base, process)
        httpx.post(f"{base}/_admin/reset", timeout=5).raise_for_status()

        def fetch(_: int) -> int:
            with httpx.Client(timeout=10) as client:
                return client.post(f"{base}/oauth/token", json=TOKEN_BODY).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(fetch, range(150)))
        stats = httpx.get(f"{base}/_admin/stats", timeout=5).json()
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert statuses.count(200) == BURST
    assert statuses.count(429) == 150 - BURST
    counts = stats["clients"]["demo-client"]
    assert counts["token_requests"] == 150
    assert counts["tokens_issued"] == BURST
    assert counts["throttled_429"] == 150 - BURST
