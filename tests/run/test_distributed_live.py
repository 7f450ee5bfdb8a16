"""A master/worker run on loopback: two worker processes stand in for two other machines."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import psutil  # locust's own dependency
import pytest

from quotalab.clock import SystemClock
from quotalab.counters import MemoryCounters
from quotalab.limits import open_store
from quotalab.profiles import load_config
from quotalab.run.live_measurements import server_totals
from quotalab.run.live_tally import Tally
from quotalab.run.locust_process import ClientArgs, Elapsed, run_locust
from quotalab.run.settings import MasterSettings
from quotalab.run.worker_roll import STARTED_WORKERS_FILE, worker_file_stem
from quotalab.run.workers import FAILED_START_S
from quotalab.server.mock_provider import MockProvider
from quotalab.server.runner import serve_in_thread
from tests.run.run_settings import locust_job

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


def quotalab(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "quotalab", *args],
        cwd=cwd,
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


@pytest.mark.live
def test_a_masters_test_starts_when_its_worker_connects(tmp_path: Path, target: str) -> None:
    """The ticks of a master waiting for its worker carry no test time, however long
    the wait; once the worker connects they count from the test's start."""
    port = free_port()
    client = ClientArgs(
        "auth0", "/oauth/token", "/api/data", "demo-client", "demo-secret",
        "https://api.quotalab.test/",
    )  # fmt: skip
    master = MasterSettings(1, "127.0.0.1", port)
    job = locust_job(tmp_path, host=target, users=2, duration_s=2.0, client=client, master=master)
    ticks: list[Elapsed] = []
    workers: list[subprocess.Popen[str]] = []
    worker = ("worker", "--master-host", "127.0.0.1", "--master-port", str(port), "--runs", "1")

    def on_tick(elapsed: Elapsed) -> None:
        ticks.append(elapsed)
        if elapsed.locust_s > job.duration_s + 2 and not workers:
            workers.append(quotalab(*worker))  # the master has waited past the test's length

    try:
        tally = run_locust(job, on_tick)
        workers[0].communicate(timeout=20)
    finally:
        for process in workers:
            stop(process)
    assert tally.total("api") > 0
    waiting = [tick for tick in ticks if tick.test_s is None]
    testing = [tick for tick in ticks if tick.test_s is not None]
    assert waiting and max(tick.locust_s for tick in waiting) > job.duration_s + 2
    assert testing and ticks == waiting + testing  # no test time before the test started
    assert testing[0].test_s is not None and testing[0].test_s < 1.0
    assert max(tick.test_s or 0.0 for tick in testing) >= job.duration_s


T = TypeVar("T")


def polled(find: Callable[[], T | None], timeout_s: float, failure: str) -> T:
    """What ``find`` returns once it returns something (polling another process); an
    ``AssertionError`` saying ``failure`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{failure} within {timeout_s:g} s")


def wait_for_file(pattern: str, root: Path, timeout_s: float) -> Path:
    """The first file matching ``pattern`` under ``root``."""
    return polled(
        lambda: next(iter(sorted(root.glob(pattern))), None),
        timeout_s,
        f"no {pattern} under {root}",
    )


def stop(process: subprocess.Popen[str]) -> None:
    """End a process of this test: SIGTERM first, on which quotalab worker ends its locust."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def first_child(pid: int, timeout_s: float) -> psutil.Process:
    """The first process ``pid`` starts (``quotalab worker``'s locust)."""
    return polled(
        lambda: next(iter(psutil.Process(pid).children()), None),
        timeout_s,
        f"process {pid} started no child",
    )


@pytest.mark.live
def test_a_worker_lost_mid_run_fails_the_run_though_a_replacement_joined(
    tmp_path: Path, target: str
) -> None:
    """One worker's locust dies as the test starts; quotalab worker starts another, which
    joins the running test, so two tallies arrive for two workers. The run still fails in
    one line naming the lost worker and the replacement: no report from the survivors'
    calls set against the server's count of everyone's."""
    port = str(free_port())
    worker = ("worker", "--master-host", "127.0.0.1", "--master-port", port)
    # The first serves the run, then its replacement; the second the run only.
    workers = [quotalab(*worker, "--runs", "2"), quotalab(*worker, "--runs", "1")]
    started_processes = list(workers)
    reports = tmp_path / "reports"
    try:
        run = quotalab(
            "run", "--master", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", port, "--target", target, "--strategies", "naive",
            "--users", "4", "--rate", "3", "--duration", "20s", "--out", str(reports),
            "--no-simulate",
        )  # fmt: skip
        started_processes.append(run)
        locust = first_child(workers[0].pid, timeout_s=20)
        seen = time.monotonic()
        started_file = wait_for_file(f"*/locust/tally-naive/{STARTED_WORKERS_FILE}", reports, 60)
        # Past FAILED_START_S its death is no failed start: quotalab worker starts another.
        while time.monotonic() - seen < FAILED_START_S + 1:
            time.sleep(0.1)
        locust.kill()
        output, _ = run.communicate(timeout=90)
        worker_output = workers[0].communicate(timeout=20)[0]
    finally:
        for process in started_processes:
            stop(process)
    started = json.loads(started_file.read_text("utf-8"))["started"]
    lost = [
        w for w in started if not (started_file.parent / f"{worker_file_stem(w)}.json").exists()
    ]
    assert len(started) == 2 and len(lost) == 1, output
    assert "run 1 ended (locust exit code -9)" in worker_output, worker_output
    assert run.returncode == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith(
        f"quotalab: error: locust for 'naive': worker {lost[0]} started the test and sent no "
        "results (lost mid-run), and worker "
    ), output + worker_output
    assert "joined after it started and ran only part of it" in last, output + worker_output
    assert "Traceback" not in output
    assert not (reports / "latest").exists()


OWN_CLIENT = """
import sys


class Exiting:
    name = "exiting"

    def call_api(self, path):
        sys.exit(0)


def exiting(settings, *, clock, rng):
    return Exiting()


def fine(settings, *, clock, rng):
    return Exiting()  # never called: the worker cannot import this module
"""


@pytest.mark.live
@pytest.mark.parametrize(
    ("spec", "worker_has_module", "says"),
    [
        (
            "own_client:fine",
            False,
            "own_client:fine: locust on {host} cannot build it: --strategies "
            "'own_client:fine': cannot import 'own_client' (ModuleNotFoundError: "
            "No module named 'own_client'); the run stopped",
        ),
        (
            "own_client:exiting",
            True,
            "own_client:exiting: call_api raised SystemExit; the run stopped",
        ),
    ],
)
def test_a_worker_whose_run_must_stop_stops_it_and_says_why(
    tmp_path: Path, target: str, spec: str, worker_has_module: bool, says: str
) -> None:
    """A worker that cannot build the strategy (its module sits only beside the master)
    or whose client calls sys.exit: its tally, saying why, reaches the master at once,
    which stops the run well before --duration and fails it in one line; never "made no
    call", never a report that passes."""
    master_dir, worker_dir = tmp_path / "master", tmp_path / "worker"
    master_dir.mkdir()
    worker_dir.mkdir()
    (master_dir / "own_client.py").write_text(OWN_CLIENT, encoding="utf-8")
    if worker_has_module:
        (worker_dir / "own_client.py").write_text(OWN_CLIENT, encoding="utf-8")
    port = str(free_port())
    worker = quotalab(
        "worker", "--master-host", "127.0.0.1", "--master-port", port, "--runs", "1",
        cwd=worker_dir,
    )  # fmt: skip
    try:
        run = quotalab(
            "run", "--master", "--expect-workers", "1", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", port, "--target", target, "--strategies", spec,
            "--users", "2", "--rate", "2", "--duration", "120s",
            "--out", str(tmp_path / "reports"), cwd=master_dir,
        )  # fmt: skip
        output, _ = run.communicate(timeout=60)  # half of --duration: the run was cut short
        worker_output, _ = worker.communicate(timeout=20)
    finally:
        for process in (worker, run):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert run.returncode == 2, output
    assert output.strip().splitlines()[-1] == "quotalab: error: " + says.format(
        host=socket.gethostname()
    )
    assert "Traceback" not in output + worker_output
    assert "made no call" not in output
    assert "the run stops: " in worker_output  # the worker says why too, in one line
    assert not (tmp_path / "reports" / "latest").exists()
