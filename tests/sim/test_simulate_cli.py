"""``quotalab simulate``: deterministic reports in the shared schema, one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quotalab.cli.simulate import pace_note
from quotalab.report import dumps_report, validate_document
from quotalab.report.table import projection_note
from quotalab.sim.scenario import SimSettings, run_strategy
from quotalab.sim.sim_measurements import simulated_report

ROOT = Path(__file__).resolve().parents[2]


def report_text(settings: SimSettings, generated_at: str) -> str:
    runs = [run_strategy(settings, name) for name in settings.strategies]
    return dumps_report(simulated_report(settings, runs, generated_at))


def without_generated_at(text: str) -> dict[str, object]:
    document = json.loads(text)
    document["meta"].pop("generated_at")
    return document  # type: ignore[no-any-return]


def test_same_seed_and_settings_give_the_same_report_bytes() -> None:
    settings = SimSettings(
        clients=3,
        workers_per_client=2,
        duration_s=600.0,
        traffic="poisson",
        strategies=("naive", "cached+backoff", "article"),
        seed=42,
    )
    first = report_text(settings, "2027-01-01T00:00:00+00:00")
    second = report_text(settings, "2027-01-01T00:00:00+00:00")
    later = report_text(settings, "2027-06-01T12:00:00+00:00")
    assert first == second
    assert first != later
    assert without_generated_at(first) == without_generated_at(later)
    document = validate_document(json.loads(first))
    assert document["meta"]["mode"] == "simulated"
    other_seed = report_text(dataclasses.replace(settings, seed=43), "2027-01-01T00:00:00+00:00")
    assert without_generated_at(other_seed) != without_generated_at(first)


def quotalab(
    *args: str, cwd: Path, open_files: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``quotalab ARGS`` run in ``cwd`` (``open_files``: at most that many file descriptors)."""

    def limit() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    return subprocess.run(
        [sys.executable, "-m", "quotalab", *args],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )


def test_simulate_writes_the_report_files_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "10m", "--strategies", "naive,cached",
        "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cached" in done.stdout and "Verdict" in done.stdout
    document = json.loads((out / "report.json").read_text("utf-8"))
    assert document["meta"]["mode"] == "simulated"
    assert document["meta"]["settings"]["duration_s"] == 600.0
    naive, cached = document["strategies"]["naive"], document["strategies"]["cached"]
    assert naive["token_requests"] == naive["api_calls"] == 2 * 600
    assert cached["token_requests"] == 2
    assert (out / "report.md").exists() and (out / "report.html").exists()
    # How much was fast-forwarded goes to stderr, never into the report.
    stderr = " ".join(done.stderr.split())  # the console wraps long lines
    assert re.search(
        r"naive: 1,200 calls in \S+ s wall \(.*\d+\.\d% fast-forwarded, "
        r"(compiled|plain Python|partly compiled \(\d+ of \d+ modules\)) core\)",
        stderr,
    )
    assert "fast-forwarded" not in json.dumps(document)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--duration", "24x"), "bad duration unit 'x'"),
        (("--traffic", "steady"), "expected one of constant, poisson, diurnal, burst"),
        (("--strategies", "lazy"), "unknown strategy 'lazy'"),
        (("--clients", "0"), "--clients must be >= 1"),
        (("--rate", "-1"), "--rate -1 is impossible; calls per second per client"),
        (("--rate", "nan"), "--rate nan is impossible"),
        (("--rate", "1e9"), "--rate 1e+09 is impossible"),
        (("--duration", "100000000d"), "is impossible; use up to 366 days"),
        (("--clients", "10000000"), "at most 100,000 workers in all"),
        (("--clients", "100", "--workers-per-client", "1001"), "at most 100,000 workers in all"),
        (("--latency-ms", "nan"), "--latency-ms nan is impossible; use 0 to 60000"),
        (("--latency-ms", "inf"), "--latency-ms inf is impossible"),
        (("--latency-ms", "-1"), "--latency-ms -1 is impossible"),
        (("--config", "deep.toml"), "not valid TOML (nested more than 64 deep)"),
        (("--config", "long.toml"), "not valid TOML (Exceeds the limit (4300 digits)"),
        (("--faults", "deep.json"), "not JSON (nested more than 64 deep)"),
        (("--faults", "nan.json"), "not JSON (NaN is not a number quotalab accepts"),
        (("--config", "/dev/zero"), "/dev/zero: cannot be read (larger than 16 MiB)"),
        (("--faults", "/dev/zero"), "--faults /dev/zero: cannot be read (larger than 16 MiB)"),
        (("--jobs", "-1"), "--jobs must be >= 0 (0: one per CPU), got -1"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "deep.toml").write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (tmp_path / "long.toml").write_text("[limits.oauth_token]\nburst = " + "9" * 5000 + "\n")
    (tmp_path / "deep.json").write_text('{"a":' * 70 + "1" + "}" * 70)
    (tmp_path / "nan.json").write_text('{"endpoints": {"token": {"error_rate": NaN}}}')
    done = quotalab("simulate", "--duration", "1m", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_gate_option_fails_the_run_when_a_bound_breaks(tmp_path: Path) -> None:
    thresholds = tmp_path / "gate.toml"
    thresholds.write_text(
        "[strategies.naive]\nmax_token_requests_per_1k_calls = 10\n", encoding="utf-8"
    )
    done = quotalab(
        "simulate", "--clients", "1", "--duration", "2m", "--strategies", "naive",
        "--gate", str(thresholds), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "FAIL" in done.stdout


def test_every_strategy_meets_the_same_calls() -> None:
    settings = SimSettings(clients=3, duration_s=300.0, traffic="poisson", seed=9)
    calls = {
        name: [t.calls for t in run_strategy(settings, name).result.tallies.values()]
        for name in ("naive", "cached", "article")
    }
    assert calls["naive"] == calls["cached"] == calls["article"]
    assert len(set(calls["naive"])) > 1  # Poisson: clients differ from one another


def test_a_slow_strategy_says_how_long_it_has_left() -> None:
    # Called with the fraction of virtual time played and the wall time spent.
    assert pace_note("backoff", 0.1, 30.0) == (
        "backoff: about 4 min to go at this pace (10% of virtual time played): "
        "calls that neither repeat nor stay quiet are played one by one (docs/simulation.md, Speed)"
    )
    assert pace_note("backoff", 0.5, 30.0) is None  # half a minute left
    assert pace_note("naive", 0.001, 5.0) is None  # too early to tell
    assert pace_note("naive", 1.0, 300.0) is None  # done


OWN_STRATEGY = """
import os
import signal
import sys
import threading

from quotalab import ClientStrategy, RetryPolicy, TokenPolicy

LATER = "later.fifo"  # made by a test whose failing_late must fail after another strategy
_held = []


def _done_for_later():  # LATER's write end held until this process ends (once read)
    if os.path.exists(LATER):
        _held.append(open(LATER, "wb"))


def factory(settings, *, clock, rng):
    return ClientStrategy(
        "own", settings, token=TokenPolicy(margin_s=30.0),
        retry=RetryPolicy(max_attempts=3), clock=clock, rng=rng,
    )


class Dying(ClientStrategy):
    def call(self, request, **progress):
        os._exit(3)  # the process playing it is killed mid-run


def dying(settings, *, clock, rng):
    return Dying(
        "dying", settings, token=TokenPolicy(), retry=RetryPolicy(), clock=clock, rng=rng
    )


class Killed(ClientStrategy):
    def call(self, request, **progress):
        os.kill(os.getpid(), signal.SIGKILL)


def killed(settings, *, clock, rng):
    return Killed("killed", settings, token=TokenPolicy(), retry=RetryPolicy(),
                  clock=clock, rng=rng)


class Stubborn(ClientStrategy):
    def call(self, request, **progress):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stubborn: deaf to SIGTERM from now on", flush=True)
        threading.Event().wait()  # for good


def stubborn(settings, *, clock, rng):
    return Stubborn("stubborn", settings, token=TokenPolicy(), retry=RetryPolicy(),
                    clock=clock, rng=rng)


class Interrupting(ClientStrategy):
    def call(self, request, **progress):
        _done_for_later()
        raise KeyboardInterrupt


def interrupting(settings, *, clock, rng):
    return Interrupting("interrupting", settings, token=TokenPolicy(), retry=RetryPolicy(),
                        clock=clock, rng=rng)


class SaysMask(ClientStrategy):
    told = False

    def call(self, request, **progress):
        if not SaysMask.told:  # once per process
            SaysMask.told = True
            blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
            print(f"{self.name}: Ctrl-C blocked {blocked}", flush=True)
        return super().call(request, **progress)


def says_mask_a(settings, *, clock, rng):
    return SaysMask("a", settings, token=TokenPolicy(), retry=RetryPolicy(), clock=clock, rng=rng)


def says_mask_b(settings, *, clock, rng):
    return SaysMask("b", settings, token=TokenPolicy(), retry=RetryPolicy(), clock=clock, rng=rng)


class Exiting(ClientStrategy):
    def call(self, request, **progress):
        sys.exit(0)  # a status of success, and no report


def exiting(settings, *, clock, rng):
    return Exiting("exiting", settings, token=TokenPolicy(), retry=RetryPolicy(),
                   clock=clock, rng=rng)


class ExitingLater(ClientStrategy):
    def call(self, request, **progress):
        flow = super().call(request, **progress)
        yield next(flow)  # its token request, sent
        raise SystemExit(0)


def exiting_later(settings, *, clock, rng):
    return ExitingLater("exiting-later", settings, token=TokenPolicy(), retry=RetryPolicy(),
                        clock=clock, rng=rng)


class NotClosing(ClientStrategy):
    def call(self, request, **progress):
        try:
            yield "not an action"
        finally:
            sys.exit(0)  # when the engine closes it


def not_closing(settings, *, clock, rng):
    return NotClosing("not-closing", settings, token=TokenPolicy(), retry=RetryPolicy(),
                      clock=clock, rng=rng)


class YieldingOnClose(ClientStrategy):
    def call(self, request, **progress):
        try:
            yield "not an action"
        finally:
            yield "still not one"  # close() raises RuntimeError: a failed call all the same


def yielding_on_close(settings, *, clock, rng):
    return YieldingOnClose("yielding-on-close", settings, token=TokenPolicy(),
                           retry=RetryPolicy(), clock=clock, rng=rng)


class Mislabelled:  # a token for every API call, its request labelled "api"
    name = "mislabelled"

    def __init__(self, settings):
        from quotalab.strategies.client_settings import token_request

        self.token_request = token_request(settings)

    def call(self, request):
        from quotalab import Send
        from quotalab.strategies.client_settings import with_bearer

        answer = yield Send(self.token_request, "api")
        return (yield Send(with_bearer(request, answer.json()["access_token"]), "api"))


def mislabelled(settings, *, clock, rng):
    return Mislabelled(settings)


class WithKeys(ClientStrategy):  # fetches the provider's keys first, labelled "api"
    def call(self, request, **progress):
        from quotalab import HttpRequest, Send

        origin = self.settings.token_url.rsplit("/", 2)[0]
        yield Send(HttpRequest("GET", origin + "/.well-known/jwks.json"), "api")
        return (yield from super().call(request, **progress))


def with_keys(settings, *, clock, rng):
    return WithKeys("own", settings, token=TokenPolicy(margin_s=30.0),
                    retry=RetryPolicy(max_attempts=3), clock=clock, rng=rng)


class Garbage(ClientStrategy):  # a flow that yields or returns what is no action or answer
    def call(self, request, **progress):
        from quotalab import Send, Sleep

        kind = self.name
        if kind == "returns-status":
            yield Sleep(0.01)
            return 200
        yield {"sends-no-request": Send(42, "api"), "sleeps-text": Sleep("1"),
               "sleeps-none": Sleep(None), "sleeps-past-floats": Sleep(10**400)}[kind]


def garbage(kind):
    def factory(settings, *, clock, rng):
        return Garbage(kind, settings, token=TokenPolicy(), retry=RetryPolicy(),
                       clock=clock, rng=rng)
    return factory


returns_status = garbage("returns-status")
sends_no_request = garbage("sends-no-request")
sleeps_text = garbage("sleeps-text")
sleeps_none = garbage("sleeps-none")
sleeps_past_floats = garbage("sleeps-past-floats")


def exiting_factory(settings, *, clock, rng):
    sys.exit(0)


def dying_factory(settings, *, clock, rng):
    os._exit(0)


def failing_late(settings, *, clock, rng):  # fails in the run, not in the first check
    if settings.client_id.startswith("sim-client"):
        with open(LATER, "rb") as later:
            later.read()  # until the other strategy's process has ended
        raise RuntimeError("the late one failed")
    return factory(settings, clock=clock, rng=rng)


def failing_early(settings, *, clock, rng):
    if settings.client_id.startswith("sim-client"):
        _done_for_later()
        raise RuntimeError("the early one failed")
    return factory(settings, clock=clock, rng=rng)
"""


def test_jobs_play_strategies_in_processes_and_report_the_same(tmp_path: Path) -> None:
    """``--jobs 3`` plays each strategy in a spawned process (the user's own strategy
    imported there from the working directory) and writes the report one process
    writes, byte for byte but its time."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    common = (
        "simulate", "--clients", "4", "--duration", "10m", "--traffic", "poisson",
        "--strategies", "naive,backoff,own_strategy:factory,cached", "--seed", "5",
    )  # fmt: skip
    together = quotalab(*common, "--jobs", "3", "--out", str(tmp_path / "a"), cwd=tmp_path)
    alone = quotalab(*common, "--out", str(tmp_path / "b"), cwd=tmp_path)
    assert together.returncode == alone.returncode == 0, together.stderr + alone.stderr
    assert "simulating naive, backoff, own_strategy:factory, cached in 3 processes" in (
        together.stderr
    )
    assert "in 3 processes" not in alone.stderr
    first = (tmp_path / "a" / "report.json").read_text("utf-8")
    second = (tmp_path / "b" / "report.json").read_text("utf-8")
    assert without_generated_at(first) == without_generated_at(second)
    assert json.loads(first)["strategies"]["own_strategy:factory"]["api_calls"] > 0


def _marked(marker: str) -> list[int]:
    """The processes carrying ``marker`` in their environment."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"{marker}=1".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _start_marked(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """``quotalab ARGS`` in a session of its own, its processes marked; once it says its
    processes have started."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    marker = f"quotalab-test-{os.getpid()}-{tmp_path.name}"  # this session's alone
    process = subprocess.Popen(
        [sys.executable, "-m", "quotalab", *args],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200", marker: "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    assert "processes" in process.stderr.readline()
    return process, marker


def _gone(pids: list[int], timeout_s: float) -> bool:
    """Whether every process of ``pids`` has ended within ``timeout_s`` (waited on, not polled)."""
    handles = []
    for pid in pids:
        try:
            handles.append(os.pidfd_open(pid))
        except ProcessLookupError:
            continue
    try:
        deadline = time.monotonic() + timeout_s
        for handle in handles:
            ready, _, _ = select.select([handle], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return False
        return True
    finally:
        for handle in handles:
            os.close(handle)


@pytest.mark.parametrize(
    ("stop", "returncode"),
    # SIGTERM (what a supervisor sends): it ends its processes, then itself. SIGKILL:
    # it cannot, and they end on their own once it is gone.
    [(signal.SIGTERM, 143), (signal.SIGKILL, -signal.SIGKILL)],
)
def test_a_killed_run_takes_its_processes_with_it(
    tmp_path: Path, stop: signal.Signals, returncode: int
) -> None:
    """A signal to the main process alone: its processes end too, even one that ignores
    SIGTERM and sends nothing back."""
    process, marker = _start_marked(
        tmp_path, "simulate", "--clients", "2", "--duration", "5m",
        "--strategies", "naive,own_strategy:stubborn", "--jobs", "2",
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("stubborn: deaf to SIGTERM")
        children = [pid for pid in _marked(marker) if pid != process.pid]
        assert children
        process.send_signal(stop)
        _, err = process.communicate(timeout=30)
        assert process.returncode == returncode, err
        assert "Traceback" not in err
        assert _gone(children, timeout_s=10.0)
    finally:
        os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
    assert _marked(marker) == []


@pytest.mark.parametrize(
    ("strategies", "deaf"),
    [("backoff,naive", False), ("naive,own_strategy:stubborn", True)],
)
def test_ctrl_c_ends_every_process_and_says_so(tmp_path: Path, strategies: str, deaf: bool) -> None:
    """Ctrl-C while strategies play in processes: one line, exit 130, and no process of
    the run left behind (they carry this test's marker in their environment), even
    one deaf to SIGTERM, even when Ctrl-C comes again while it is being stopped."""
    process, marker = _start_marked(
        tmp_path, "simulate", "--clients", "100", "--duration", "24h", "--traffic", "poisson",
        "--strategies", strategies, "--jobs", "2",
    )  # fmt: skip
    try:
        if deaf:
            assert process.stdout is not None
            assert process.stdout.readline().startswith("stubborn: deaf to SIGTERM")
        os.killpg(process.pid, signal.SIGINT)
        if deaf:
            with pytest.raises(subprocess.TimeoutExpired):  # it gives the deaf one 2 s to end
                process.wait(timeout=0.3)
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C again: it still ends them first
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "quotalab: aborted"
    assert "Traceback" not in err
    assert _marked(marker) == []


@pytest.mark.parametrize(
    ("strategies", "last"),
    [
        # The first to fail in the order given, as one process would report it.
        (
            "own_strategy:failing_late,own_strategy:failing_early",
            "quotalab: error: --strategies 'own_strategy:failing_late': the factory failed "
            "(RuntimeError: the late one failed)",
        ),
        (
            "own_strategy:failing_late,own_strategy:interrupting",
            "quotalab: error: --strategies 'own_strategy:failing_late': the factory failed "
            "(RuntimeError: the late one failed)",
        ),
        (
            "naive,own_strategy:dying",
            "quotalab: error: the process simulating own_strategy:dying stopped before it "
            "finished (exit code 3)",
        ),
        (
            "naive,own_strategy:killed",
            "quotalab: error: the process simulating own_strategy:killed stopped before it "
            "finished (killed by SIGKILL)",
        ),
    ],
)
def test_a_failed_strategy_is_one_line_as_in_one_process(
    tmp_path: Path, strategies: str, last: str
) -> None:
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    os.mkfifo(tmp_path / "later.fifo")  # failing_late fails once the other's process has ended
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "1m", "--strategies", strategies,
        "--jobs", "2", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(last), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(
    ("spec", "last"),
    [
        (
            "own_strategy:exiting",
            "quotalab: error: strategy 'exiting': call() raised SystemExit: 0; a call ends by "
            "returning or by raising an Exception, so the run stopped and wrote no report",
        ),
        (
            "own_strategy:exiting_later",
            "quotalab: error: strategy 'exiting-later': its flow raised SystemExit: 0; a call "
            "ends by returning or by raising an Exception, so the run stopped and wrote no report",
        ),
        (
            "own_strategy:not_closing",
            "quotalab: error: strategy 'not-closing': its flow raised SystemExit: 0; a call "
            "ends by returning or by raising an Exception, so the run stopped and wrote no report",
        ),
        (
            "own_strategy:exiting_factory",
            "quotalab: error: --strategies 'own_strategy:exiting_factory': the factory failed "
            "(SystemExit: 0); it is called as factory(settings, *, clock, rng)",
        ),
        (
            "exits_on_import:factory",
            "quotalab: error: --strategies 'exits_on_import:factory': cannot import "
            "'exits_on_import' (SystemExit: 0)",
        ),
    ],
)
def test_a_strategy_calling_sys_exit_fails_the_run(
    tmp_path: Path, spec: str, last: str, jobs: str
) -> None:
    """``sys.exit(0)`` in a strategy's module, factory, ``call()`` or flow: exit 2 in one
    line and no report, never a silent exit 0 that a CI step would take for success."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "1m", "--strategies", f"naive,{spec}",
        "--jobs", jobs, "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == last, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize(
    ("spec", "last"),
    [
        (
            "naive,own_strategy:dying",
            "quotalab: error: the process simulating own_strategy:dying stopped before it "
            "finished (exit code 3)",
        ),
        (
            "naive,own_strategy:dying_factory",
            "quotalab: error: the process checking naive, own_strategy:dying_factory stopped "
            "before it finished (exit code 0)",
        ),
        (
            "naive,dies_on_import:factory",
            "quotalab: error: the process checking naive, dies_on_import:factory stopped "
            "before it finished (exit code 0)",
        ),
    ],
)
def test_a_strategy_ending_its_process_fails_the_run_without_jobs(
    tmp_path: Path, spec: str, last: str
) -> None:
    """``os._exit()`` in a strategy's module, factory or call, which no handler sees: own
    strategies are checked and played in processes of their own even without --jobs, so
    it is exit 2 in one line, never this process ending with status 0 and no report."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    (tmp_path / "dies_on_import.py").write_text("import os\nos._exit(0)\n", encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "1m", "--strategies", spec,
        "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == last, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "report.json").exists()


def test_requests_are_counted_as_the_provider_takes_them_not_by_their_label(
    tmp_path: Path,
) -> None:
    """A token request a custom strategy sends as "api" is a token request, as a live
    server counts it: 1,000 per 1,000 calls, not 0 and a quota that lasts forever."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "1", "--duration", "2m",
        "--strategies", "naive,own_strategy:mislabelled", "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))["strategies"]
    own, naive = figures["own_strategy:mislabelled"], figures["naive"]
    assert own["calls"] == naive["calls"] > 0
    for name in ("token_requests", "tokens_issued", "api_calls", "token_requests_per_1k_calls"):
        assert own[name] == naive[name], name


def test_requests_the_provider_counts_nowhere_are_not_api_calls(tmp_path: Path) -> None:
    """A strategy that fetches the provider's keys before each call: the live server counts
    that request nowhere, and nor does the simulation (it is no API call)."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "2m", "--no-fast-forward",
        "--strategies", "own_strategy:factory,own_strategy:with_keys", "--out", "out",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))["strategies"]
    plain, keys = figures["own_strategy:factory"], figures["own_strategy:with_keys"]
    assert keys["calls"] == plain["calls"] > 0
    for name in ("token_requests", "api_calls", "calls_ok"):
        assert keys[name] == plain[name], name


@pytest.mark.parametrize(
    "factory",
    [
        "yielding_on_close",
        "returns_status",
        "sends_no_request",
        "sleeps_text",
        "sleeps_none",
        "sleeps_past_floats",
    ],
)
def test_a_flow_yielding_or_returning_garbage_fails_its_calls(tmp_path: Path, factory: str) -> None:
    """Garbage out of a flow, and a flow that will not close after it: failed calls of
    type TypeError, never a traceback that ends the run."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "1m",
        "--strategies", f"own_strategy:{factory}", "--out", "out", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    figures = report["strategies"][f"own_strategy:{factory}"]
    assert figures["calls"] > 0 and figures["calls_ok"] == 0
    (failure,) = figures["failures"]
    assert failure["reason"] == "TypeError" and failure["calls"] == figures["calls"]


def test_a_strategy_raising_ctrl_c_aborts_the_run(tmp_path: Path) -> None:
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "1m",
        "--strategies", "naive,own_strategy:interrupting", "--jobs", "2", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "quotalab: aborted"
    assert "Traceback" not in done.stderr


def test_a_process_that_cannot_start_is_one_line(tmp_path: Path) -> None:
    """Out of file descriptors (12 allowed): the process cannot start, and the run says so."""
    done = quotalab(
        "simulate", "--clients", "3", "--duration", "5m",
        "--strategies", "naive,cached,backoff", "--jobs", "3", cwd=tmp_path, open_files=12,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("quotalab: error: cannot start a process to simulate "), last
    assert last.endswith("Too many open files")
    assert "Traceback" not in done.stderr


def test_every_process_starts_with_ctrl_c_blocked(tmp_path: Path) -> None:
    """The first process too: starting multiprocessing's resource tracker unblocks Ctrl-C,
    so it is started before any process is."""
    (tmp_path / "own_strategy.py").write_text(OWN_STRATEGY, encoding="utf-8")
    done = quotalab(
        "simulate", "--clients", "2", "--duration", "1m",
        "--strategies", "own_strategy:says_mask_a,own_strategy:says_mask_b", "--jobs", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = sorted(line for line in done.stdout.splitlines() if "Ctrl-C blocked" in line)
    assert said == ["a: Ctrl-C blocked True", "b: Ctrl-C blocked True"]


@pytest.mark.parametrize(
    ("traffic", "duration_s", "said"),
    [
        ("burst", 60.0, "this span of 60 s is 0.1 of its periods"),
        ("burst", 1200.0, None),
        ("burst", 1801.0, None),  # one second over three periods: under 2 %
        ("burst", 599.6, None),
        ("burst", 1830.0, "this span of 1,830 s is 3.05 of its periods"),
        ("burst", 0.5, "this span of 0.5 s is 0.0008333 of its periods"),
        ("diurnal", 3600.0, "repeats every 86,400 s and this span of 3,600 s is 0.04167"),
        ("poisson", 60.0, None),
    ],
)
def test_a_span_that_is_part_of_its_traffics_period_says_its_day_is_not_the_mean(
    traffic: str, duration_s: float, said: str | None
) -> None:
    """A minute of burst traffic projected to a day read 853,920 tokens where the day
    is 87,179: the first minute of every 10 is the burst. The note says what the day
    means and how long to simulate; whole periods need no word."""
    settings = SimSettings(
        clients=1, duration_s=duration_s, traffic=traffic, rate=0.5, strategies=("naive",)
    )
    runs = [run_strategy(settings, "naive")]
    note = projection_note(simulated_report(settings, runs, "2025-01-01T00:00:00Z"))
    if said is None:
        assert "of its periods" not in note
    else:
        assert said in note and "not the model's mean" in note
