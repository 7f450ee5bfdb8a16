"""Own clients and custom strategies that misbehave, run through ``quotalab run`` from their folder.

Every call is counted however the user's code ends it (an exception of any
kind, an answer that is no status), the server counts an own client's
requests whatever id it presents, and a run whose figures are no evidence
(no call made, successes the server never saw) exits 1 saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.cli_process import ROOT, quotalab

HERE = Path(__file__).resolve().parent


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    shutil.copy(HERE / "hostile" / "hostile_clients.py", tmp_path / "hostile.py")
    return tmp_path


@pytest.mark.live
def test_every_call_of_misbehaving_clients_is_counted(user_folder: Path) -> None:
    specs = [
        "naive",
        "hostile:raiser",
        "hostile:no_token",
        "hostile:bad_secret",
        "hostile:no_http",
        "hostile:returns_none",
        "hostile:unprintable",
        "hostile:swallower",
        "hostile:sleeper",
    ]
    done = quotalab(
        "run", "--strategies", ",".join(specs), "--duration", "2s", "--users", "4",
        cwd=user_folder, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(
        (user_folder / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    figures = report["strategies"]
    failed = {name: {f["reason"]: f for f in s["failures"]} for name, s in figures.items()}
    for name in specs[:-1]:
        own = figures[name]
        assert own["calls"] > 0, name
        assert own["calls"] == own["calls_ok"] + sum(f["calls"] for f in own["failures"]), name
    # A custom sans-I/O strategy raising its own exception: failed calls, by type.
    assert failed["hostile:raiser"]["RuntimeError"]["first_message"] == "policy bug"
    assert figures["hostile:raiser"]["calls_ok"] > 0
    # Naive takes one token per call: cut-off calls never inflate it.
    assert figures["naive"]["token_requests_per_1k_calls"] == 1000
    # No token: the API's 401s are the run's (the server files them as anonymous).
    no_token = figures["hostile:no_token"]
    assert no_token["api_calls"] == no_token["auth_failures_401_403"] == no_token["calls"]
    # A wrong secret: the token endpoint's 401s are counted too.
    bad_secret = figures["hostile:bad_secret"]
    assert bad_secret["auth_failures_401_403"] == bad_secret["token_requests"] > 0
    assert "HTTPError" in failed["hostile:bad_secret"]
    # Answers that are no HTTP status, exceptions that cannot be printed: failed calls.
    assert figures["hostile:returns_none"]["calls_ok"] == 0
    assert (
        "not an HTTP status"
        in failed["hostile:returns_none"]["not_an_http_status"]["first_message"]
    )
    assert "could not be read" in failed["hostile:unprintable"]["Unprintable"]["first_message"]
    # Successes the server never saw, and a client that never returned: the run fails.
    out = " ".join(done.stdout.split())
    assert "error: hostile:no_http: " in out and "the server counted no API request" in out
    assert "(call_api must call settings.api_base_url + path)" in out
    # Successes the server never gave (a failed token request swallowed, 200 returned).
    swallower = figures["hostile:swallower"]
    assert swallower["calls_ok"] == swallower["calls"] > swallower["api_ok"] > 0
    assert (
        f"error: hostile:swallower: {swallower['calls']} calls succeeded but the server "
        f"answered only {swallower['api_ok']} API requests with success"
    ) in out
    # A call still running when locust ends its user is a failed call (abandoned), so
    # the client that never returns is no evidence either, with its calls counted.
    sleeper = figures["hostile:sleeper"]
    assert sleeper["calls"] == 4 and sleeper["calls_ok"] == 0  # one per user, cut off
    assert (
        "still running when the run stopped"
        in failed["hostile:sleeper"]["abandoned"]["first_message"]
    )
    assert "error: hostile:sleeper: none of its 4 calls sent a request the server counted" in out
    assert "hostile:no_token: no API call reached the server" not in out


@pytest.mark.live
def test_a_client_that_deadlocks_fails_its_gate_with_its_stuck_calls(user_folder: Path) -> None:
    """A token cache that deadlocks after its first failed refresh: the calls stuck on
    its lock when the run stops are failed calls, so a gate on its success ratio fails
    (they had been dropped, and its first few calls passed it)."""
    (user_folder / "gate.toml").write_text(
        '[strategies."hostile:deadlocking"]\nmin_success_ratio = 0.9\n', encoding="utf-8"
    )
    done = quotalab(
        "run", "--strategies", "hostile:deadlocking", "--duration", "3s", "--users", "4",
        "--gate", "gate.toml", cwd=user_folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(
        (user_folder / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    figures = report["strategies"]["hostile:deadlocking"]
    failed = {f["reason"]: f["calls"] for f in figures["failures"]}
    assert figures["calls_ok"] == 4  # before the refresh that failed
    assert failed == {"RuntimeError": 1, "abandoned": 4}  # every user, stuck on the lock
    assert figures["calls"] == 9
    assert "FAIL" in done.stdout and "success_ratio" in done.stdout


@pytest.mark.live
@pytest.mark.parametrize(
    ("spec", "what"),
    [
        ("hostile:interrupted", "call_api raised KeyboardInterrupt"),
        # sys.exit(0) in a custom strategy must not end its locust user quietly and
        # leave a report of the calls before it.
        ("hostile:exiting", "the strategy raised SystemExit"),
        # Any exception that is no Exception: a user ended so dropped its calls, and
        # the run passed at 100% success.
        ("hostile:fatal", "call_api raised Fatal"),
        ("hostile:fatal_strategy", "the strategy raised Fatal"),
    ],
)
def test_ctrl_c_or_sys_exit_in_the_users_code_stops_the_run_in_one_line(
    user_folder: Path, spec: str, what: str
) -> None:
    done = quotalab(
        "run", "--strategies", f"{spec},naive", "--duration", "2s", "--users", "2",
        cwd=user_folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line == f"quotalab: error: {spec}: {what}; the run stopped"


def children_of(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def command_line(pid: int) -> bytes:
    """``pid``'s command line, empty once it is gone (multiprocessing's resource tracker,
    a child of the run too, ends on its own once the run is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.live
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_client_that_never_yields_is_stopped_and_nothing_is_left_behind(
    user_folder: Path,
) -> None:
    done = quotalab(
        "run", "--strategies", "hostile:busy", "--duration", "1s", "--users", "1",
        cwd=user_folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "took too long after its run and was stopped" in line


@pytest.mark.live
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sigterm_stops_the_run_and_its_locust_processes(user_folder: Path) -> None:
    command = [sys.executable, "-m", "quotalab", "run", "--strategies", "hostile:busy"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen(
        [*command, "--duration", "30s", "--users", "1"],
        cwd=user_folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):  # until locust's test has started (its marker file)
            if list((user_folder / "reports").glob("*/locust/tally-*/started")):
                break
            threading.Event().wait(0.1)  # polling another process, not a window
        locust = {pid for pid in children_of(run.pid) if b"locust" in command_line(pid)}
        assert locust, "locust never started"
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0
    left = {pid for pid in locust if Path(f"/proc/{pid}").exists()}
    assert not left, f"locust processes left behind: {left}"


@pytest.mark.live
def test_a_client_refreshing_on_its_own_thread_neither_hangs_the_run_nor_taints_others(
    user_folder: Path,
) -> None:
    """quotalab builds each own client once to check it before any load: that copy, with
    the refresher its constructor starts, must end with the check, not keep fetching
    tokens the server counts against the strategy that runs next, nor keep quotalab
    alive after its report."""
    done = quotalab(
        "run", "--strategies", "hostile:refresher,cached", "--duration", "2s",
        "--users", "2", cwd=user_folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(
        (user_folder / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    cached = report["strategies"]["cached"]
    assert cached["token_requests"] == cached["tokens_issued"] == 1  # its own, no other
    assert "counts differ" not in done.stdout + done.stderr


@pytest.mark.live
def test_a_client_whose_thread_keeps_locust_alive_is_measured_and_said(
    user_folder: Path,
) -> None:
    """A thread of the client's own that is no daemon kept locust from exiting after it
    wrote its results: the run waited out its deadline and failed "a call that blocks?"
    with every call done. The results are kept and the run says what it stopped."""
    done = quotalab(
        "run", "--strategies", "hostile:lingering", "--duration", "2s", "--users", "2",
        "--no-simulate", cwd=user_folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "did not exit 5 s after writing its results" in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(
        (user_folder / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    own = report["strategies"]["hostile:lingering"]
    assert own["calls"] > 0 and own["success_ratio"] == 1.0


@pytest.mark.live
def test_the_refreshes_of_a_client_presenting_another_id_are_measured(
    user_folder: Path,
) -> None:
    """The run counts an own client's requests whatever id it presents; its token
    timeline must too, or every refresh lands at the run's end as warm-up and the
    day is projected as "no refresh seen"."""
    config = user_folder / "two.toml"
    config.write_text(
        '[clients.other-client]\nsecret = "other-secret"\n'
        'grant_types = ["client_credentials"]\nscopes = ["read:data"]\n'
        'audiences = ["https://api.quotalab.test/"]\n'
    )
    done = quotalab(
        "run", "--config", str(config), "--strategies", "hostile:other_id_cache",
        "--token-lifetime", "3s", "--duration", "7s", "--users", "4", "--rate", "10",
        "--no-simulate", cwd=user_folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(
        (user_folder / "reports" / "latest" / "report.json").read_text("utf-8")
    )
    own = report["strategies"]["hostile:other_id_cache"]
    projection = own["projection"]
    assert projection["method"] == "refresh_cadence", (projection["note"], own["calls"])
    # It refreshes 1 s before its 3 s tokens expire: every 2 s, not all at the end.
    assert 0.3 <= projection["margin_s"] <= 2.0, projection["note"]
