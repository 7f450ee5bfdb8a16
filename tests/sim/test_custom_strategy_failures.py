"""A custom sans-I/O strategy that raises is measured in simulate as in run: failed calls."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from quotalab import make_strategy
from quotalab.clock import Clock
from quotalab.drivers.loop import RefreshGate, run_flow_sync
from quotalab.errors import InputError
from quotalab.report.counted import MAX_REASONS
from quotalab.sim.scenario import SimSettings, check_strategies, run_strategy
from quotalab.sim.sim_measurements import measurements_of
from quotalab.strategies.client_settings import ClientSettings
from quotalab.strategies.messages import Sleep, Strategy
from quotalab.wire import HttpRequest, HttpResponse
from tests.cli_process import quotalab


class EveryOtherCallRaises:
    """A policy bug: ``call`` itself raises on every second call."""

    name = "every-other"

    def __init__(self, inner: Strategy) -> None:
        self.inner, self.calls = inner, 0

    def call(self, request: HttpRequest) -> Any:
        self.calls += 1
        if self.calls % 2 == 0:
            raise RuntimeError("policy bug")
        return self.inner.call(request)


class YieldsGarbage:
    name = "garbage"

    def call(self, request: HttpRequest) -> Generator[str, object, None]:
        yield "not a message"


def every_other(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return EveryOtherCallRaises(make_strategy("naive", settings, clock=clock, rng=rng))


def garbage(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return YieldsGarbage()


def boom(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    raise ValueError("missing env CLIENT_REGION")


def settings_for(*strategies: str, rate: float = 1.0) -> SimSettings:
    return SimSettings(clients=2, duration_s=60.0, rate=rate, strategies=strategies)


def test_exceptions_of_a_custom_strategy_are_failed_calls_by_type() -> None:
    for factory, reason, failed in ((every_other, "RuntimeError", 60), (garbage, "TypeError", 120)):
        spec = f"{__name__}:{factory.__name__}"
        run = run_strategy(settings_for(spec), spec)
        measured = measurements_of(run)
        assert measured.calls == 120
        assert measured.calls_ok == 120 - failed
        assert [(f.reason, f.calls) for f in measured.failures] == [(reason, failed)]


def test_a_failing_factory_is_refused_before_anything_runs() -> None:
    with pytest.raises(InputError, match=r"the factory failed \(ValueError: missing env"):
        check_strategies(settings_for("naive", f"{__name__}:boom"))


@pytest.mark.parametrize(
    ("strategies", "message"),
    [
        (",", "no strategy given"),
        ("naive,naive", "names naive more than once"),
    ],
)
def test_simulate_refuses_empty_and_repeated_strategies(
    strategies: str, message: str, tmp_path: Path
) -> None:
    done = quotalab("simulate", "--strategies", strategies, "--duration", "10s", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert message in line


def test_simulate_checks_its_gate_file_before_simulating(tmp_path: Path) -> None:
    thresholds = tmp_path / "gate.toml"
    thresholds.write_text("[strategies.naive]\nmax_foo = 1\n")
    done = quotalab(
        "simulate", "--strategies", "naive", "--duration", "24h", "--gate", str(thresholds)
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "max_foo: unknown key" in line
    assert "naive" not in done.stdout  # nothing was simulated


class RateLimited(Exception):
    """A team's own exception: it says nothing of the status it gave up on."""


class GivesUpInItsOwnWords:
    """Fetches a token per call and raises its own exception on any refusal."""

    name = "own-words"

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner

    def call(self, request: HttpRequest) -> Any:
        flow = self.inner.call(request)
        reply = None
        while True:
            try:
                action = flow.send(reply)
            except StopIteration as stop:
                return stop.value
            except Exception as error:
                status = getattr(error, "status", None)
                raise RateLimited(f"gave up (HTTP {status})") from None
            reply = yield action


def own_words(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return GivesUpInItsOwnWords(make_strategy("naive", settings, clock=clock, rng=rng))


def test_an_own_exception_on_a_throttle_is_reported_throttled_with_its_message() -> None:
    """40 calls/s against 30 tokens/s: the refused calls fail in the strategy's own words."""
    spec = f"{__name__}:own_words"
    run = run_strategy(SimSettings(clients=4, duration_s=30.0, rate=10.0, strategies=(spec,)), spec)
    (failed,) = measurements_of(run).failures
    assert failed.reason == "RateLimited"
    assert failed.calls > 100 and failed.throttled == failed.calls
    assert failed.first_message == "gave up (HTTP 429)"
    # The built-in naive client, same traffic: throttled by its own type, with its message.
    naive = measurements_of(
        run_strategy(SimSettings(clients=4, duration_s=30.0, rate=10.0), "naive")
    )
    (builtin,) = naive.failures
    assert (builtin.reason, builtin.throttled) == ("ThrottledError", builtin.calls)
    assert builtin.calls == failed.calls
    assert builtin.first_message == "token request: throttled (HTTP 429)"  # never retried


class NeverLetsTimePass:
    """``Sleep(0)`` for ever: virtual time would stand still, the run never end."""

    name = "spinner"

    def call(self, request: HttpRequest) -> Generator[Sleep, object, None]:
        while True:
            yield Sleep(0)


class SleepsNoSeconds:
    name = "bad-sleeps"

    def __init__(self) -> None:
        self.waits = iter([-5, math.nan, True, 10**400] * 1000)

    def call(self, request: HttpRequest) -> Generator[Sleep, object, None]:
        yield Sleep(next(self.waits))


def spinner(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return NeverLetsTimePass()


def bad_sleeps(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return SleepsNoSeconds()


def test_a_flow_that_never_lets_time_pass_fails_its_calls_instead_of_hanging() -> None:
    spec = f"{__name__}:spinner"
    measured = measurements_of(run_strategy(settings_for(spec), spec))
    assert (measured.calls, measured.calls_ok) == (120, 0)
    (failure,) = measured.failures
    assert (failure.reason, failure.calls) == ("NoTimePassed", 120)
    assert "10,000 actions without virtual time passing" in failure.first_message


def test_sleeps_of_no_seconds_fail_the_call_in_every_driver() -> None:
    spec = f"{__name__}:bad_sleeps"
    measured = measurements_of(run_strategy(settings_for(spec), spec))
    assert (measured.calls, measured.calls_ok) == (120, 0)
    assert [(f.reason, f.calls) for f in measured.failures] == [("TypeError", 120)]
    flow = SleepsNoSeconds().call(HttpRequest("GET", "http://127.0.0.1/api"))
    with pytest.raises(TypeError, match=r"yielded Sleep\(seconds=-5\)"):
        answer = HttpResponse(200, {}, b"")
        run_flow_sync(flow, lambda request: answer, time.sleep, RefreshGate())


class RaisesAtLength:
    """A new exception type per call, each with a message of a megabyte."""

    name = "raises-at-length"

    def __init__(self) -> None:
        self.calls = 0

    def call(self, request: HttpRequest) -> Generator[Sleep, object, None]:
        self.calls += 1
        yield Sleep(0.001)
        kind = type(f"Error{self.calls:04d}", (Exception,), {})
        raise kind("x" * 1_000_000 + "\nsecond line")


def at_length(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return RaisesAtLength()


def test_failures_are_worded_as_live_and_bounded_in_number() -> None:
    """A message keeps its first line up to 200 characters, as a live run keeps it, and a
    report lists 50 reasons at most: the rest are one line, counts kept."""
    spec = f"{__name__}:at_length"
    measured = measurements_of(run_strategy(settings_for(spec), spec))
    assert measured.calls == 120
    assert len(measured.failures) == MAX_REASONS
    assert sum(f.calls for f in measured.failures) == 120
    first = measured.failures[0]
    assert first.first_message == "x" * 199 + "…"
    folded = measured.failures[-1]  # 60 types (one per call of each client's strategy), 2 each
    assert folded.reason == "(11 other reasons)" and folded.calls == 22
    assert folded.first_message.startswith("each of at most 2 calls: Error")


class HangsAfterAWhile:
    """Works for its first calls, then waits for ever on every call."""

    name = "hangs"

    def __init__(self, inner: Strategy) -> None:
        self.inner, self.calls = inner, 0

    def call(self, request: HttpRequest) -> Any:
        self.calls += 1
        if self.calls > 10:
            return self._forever()
        return self.inner.call(request)

    @staticmethod
    def _forever() -> Generator[Sleep, object, None]:
        yield Sleep(10**9)


def hangs(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return HangsAfterAWhile(make_strategy("naive", settings, clock=clock, rng=rng))


def test_calls_still_running_when_the_simulation_stops_are_failed_abandoned() -> None:
    """As a live run counts calls its stop timeout cut off: failed, with the reason."""
    spec = f"{__name__}:hangs"
    measured = measurements_of(run_strategy(settings_for(spec), spec))
    assert (measured.calls, measured.calls_ok) == (120, 20)
    (abandoned,) = measured.failures
    assert (abandoned.reason, abandoned.calls) == ("abandoned", 100)
    assert abandoned.first_message.startswith("still running 3600 s after the simulated span")


class MovesTheClock:
    """Waits as its own tests did with a ``VirtualClock``: by moving the clock."""

    name = "moves-the-clock"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def call(self, request: HttpRequest) -> Generator[Sleep, object, None]:
        self.clock.advance(3600.0)  # type: ignore[attr-defined]
        yield Sleep(0.0)


def moves_the_clock(settings: ClientSettings, *, clock: Clock, rng: random.Random) -> object:
    return MovesTheClock(clock)


def test_a_strategy_cannot_move_the_simulations_clock() -> None:
    """Fifty days passed while the report read 600 s: now each such call fails, saying how
    a strategy waits."""
    spec = f"{__name__}:moves_the_clock"
    run = run_strategy(settings_for(spec), spec)
    measured = measurements_of(run)
    assert (measured.calls, measured.calls_ok) == (120, 0)
    (failure,) = measured.failures
    assert failure.reason == "TypeError" and "yielding Sleep(seconds)" in failure.first_message
    assert run.result.ended_at - run.result.start <= 60 + 3600  # the span and its drain only
