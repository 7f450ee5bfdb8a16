"""``StrategyUser``: a locust FastHttpUser that calls an API through a strategy.

Every user of one process with the same client id shares one strategy object,
hence one token cache: many workers of one service. Options come from
locust's command line (``--strategy``, ``--rate``, ``--client-id``, ...), so a
master forwards them to its workers, on this machine or others.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import math
import os
import random
import socket
import time
from pathlib import Path
from typing import Any, NoReturn, cast

import gevent
from gevent import GreenletExit
from gevent.event import Event
from gevent.lock import Semaphore
from locust import FastHttpUser, constant_throughput, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner

from quotalab.clock import SystemClock
from quotalab.locust.async_calls import AsyncCalls, CallStopped
from quotalab.locust.driver import Abandoned, FlowDriver, RefreshSignals
from quotalab.locust.gather import Gatherer, gathering
from quotalab.locust.recorder import Recorder
from quotalab.outcomes import ABANDONED
from quotalab.run.locust_process import ENV_CLIENT_SECRET, STARTED_MARKER
from quotalab.run.scenarios import SCENARIOS
from quotalab.strategies.client_settings import CLIENT_AUTH, STYLES, ClientSettings
from quotalab.strategies.messages import Strategy
from quotalab.strategies.own_client import OwnClient, build_strategy
from quotalab.wire import HttpRequest

logger = logging.getLogger(__name__)
CUT_OFF_MESSAGE = (
    "still running when the run stopped and its stop timeout ran out "
    "(a call that blocks: a lock never released, a request without a timeout?)"
)
"""Why a call ended by locust at the stop timeout failed (reason ``abandoned``)."""
RECORDER = Recorder()
STOPPING = Event()
_STOPPED_AT = [math.inf]  # perf_counter() when the test began to stop
SIGNALS = RefreshSignals(STOPPING)
ASYNC_CALLS = AsyncCalls()  # async own clients' calls: one loop for the process
_SHARED: dict[str, Strategy | OwnClient] = {}
_BUILDING: dict[str, Semaphore] = {}  # a lock per key while its strategy is built


def _rate(text: str) -> float:
    """``--rate``: a finite number of calls per second, >= 0 (NaN let users call at once)."""
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not (math.isfinite(rate) and rate >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is no rate: a number >= 0 of calls/s")
    return rate


def _options(parser: Any) -> None:
    group = parser.add_argument_group("quotalab", "How the users call the API (quotalab)")
    group.add_argument(
        "--strategy", default="cached+backoff", help="strategy name or package.module:factory"
    )
    group.add_argument("--scenario", default="steady", choices=sorted(SCENARIOS))
    group.add_argument(
        "--rate", type=_rate, default=0.0, help="API calls/s per user (0: the scenario's)"
    )
    group.add_argument("--provider-style", default="auth0", choices=list(STYLES))
    group.add_argument("--token-path", default="/oauth/token")
    group.add_argument("--api-path", default="/api/data")
    group.add_argument("--client-id", default="demo-client")
    # quotalab run passes the secret in this variable, never on the command line (ps).
    group.add_argument("--client-secret", default="demo-secret", env_var=ENV_CLIENT_SECRET)
    group.add_argument("--audience", default="https://api.quotalab.test/")
    group.add_argument("--scope", default="", help="oauth2 style: the scope to ask for")
    group.add_argument("--client-auth", default="client_secret_post", choices=list(CLIENT_AUTH))
    group.add_argument(
        "--retry-budget-s", type=float, default=120.0, help="backoff budget the provider advises"
    )
    group.add_argument(
        "--cooldown-s", type=float, default=60.0, help="wait after a throttle that names none"
    )
    group.add_argument(
        "--tally-dir", default="", help="each process writes its quotalab tally here at quit"
    )
    group.add_argument(
        "--stop-after",
        type=float,
        default=0.0,
        help="master: stop after SECONDS, gather every worker's tally into --tally-dir, quit",
    )


def _start(environment: Any, **_: Any) -> None:
    STOPPING.clear()
    _STOPPED_AT[0] = math.inf
    _SHARED.clear()
    directory = getattr(environment.parsed_options, "tally_dir", "")
    if directory:  # tells quotalab run when the measured time began
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / STARTED_MARKER).touch()


def _stopping(environment: Any, **_: Any) -> None:
    _STOPPED_AT[0] = time.perf_counter()
    STOPPING.set()


def _cut_off(started: float) -> None:
    """Count a call that locust ended (``GreenletExit``) as a failed one, ``abandoned``:
    one still running when the stop timeout ran out (a deadlocked client must not pass
    on its first calls). A call begun after the test began to stop is none: locust
    kills a user it found waiting, and the kill can land just inside its next call."""
    if started < _STOPPED_AT[0]:
        RECORDER.tally.record_flow(ABANDONED, message=CUT_OFF_MESSAGE)


def _quit(environment: Any, **_: Any) -> None:
    directory = getattr(environment.parsed_options, "tally_dir", "")
    if gathering(environment):
        return  # the master wrote every worker's tally (gather)
    if directory and not isinstance(environment.runner, MasterRunner):
        RECORDER.write(directory)


for _event, _listener in (
    (events.init_command_line_parser, _options),
    (events.test_start, _start),
    (events.test_stopping, _stopping),
    (events.quitting, _quit),
):
    _event.add_listener(_listener)  # type: ignore[no-untyped-call]
GATHERER = Gatherer(RECORDER)
GATHERER.install()


def provider_settings(options: Any, host: str) -> ClientSettings:
    """The strategy's view of the provider, from the command-line options."""
    base = host.rstrip("/")
    return ClientSettings(
        style=options.provider_style,
        token_url=base + options.token_path,
        client_id=options.client_id,
        client_secret=options.client_secret,
        audience=options.audience if options.provider_style == "auth0" else "",
        scope=options.scope,
        api_base_url=base,
        client_auth=options.client_auth,
        retry_budget_s=options.retry_budget_s,
        cooldown_s=options.cooldown_s,
    )


def shared_strategy(options: Any, host: str) -> Strategy | OwnClient:
    """The strategy every user of this process with the same client id calls through."""
    key = options.client_id
    made = _SHARED.get(key)
    if made is not None:
        return made
    # Built once: a factory doing I/O (a token fetched as its client is built) yields to
    # the other users starting, which must wait for it rather than build their own.
    with _BUILDING.setdefault(key, Semaphore()):
        made = _SHARED.get(key)
        if made is None:
            made = _SHARED[key] = build_strategy(
                options.strategy,
                provider_settings(options, host),
                clock=SystemClock(),
                rng=random.Random(),
            )
    return made


def trusted_ssl_context(cafile: str | None = None) -> Any:
    """Certificates are checked, against ``SSL_CERT_FILE`` when set (``quotalab run --tls``)."""
    import gevent.ssl

    return gevent.ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or cafile)


class _Unbuilt:
    """Stands for a strategy this process could not build: a user calling it stops."""

    name = "unbuilt"

    def call_api(self, path: str) -> int:
        raise StopUser


_UNBUILT = _Unbuilt()


class StrategyUser(FastHttpUser):
    """Calls the API at the scenario's pace, through the shared strategy core."""

    host = "http://127.0.0.1:8080"
    insecure = False  # locust's default skips certificate checks; a client under test never does
    ssl_context_factory = staticmethod(trusted_ssl_context)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        rate = options.rate or SCENARIOS[options.scenario].rate
        self._pace = constant_throughput(rate)
        try:
            self.strategy = shared_strategy(options, self.host)
        except Exception as error:  # a worker on another machine or in another folder
            # quotalab run built it before starting locust, so this process differs. The
            # user stops at its first task (StopUser out of on_start is a logged traceback).
            self._record_fatal(f"locust on {socket.gethostname()} cannot build it: {error}")
            self.strategy = _UNBUILT
        # Decided once: a runtime Protocol check per call costs ~9% of the user's CPU.
        self.own_client = self.strategy if isinstance(self.strategy, OwnClient) else None
        self.api_url = self.host.rstrip("/") + options.api_path
        self.driver = FlowDriver(self.client, RECORDER.tally, SIGNALS, STOPPING)

    def wait_time(self) -> float:
        pace: float = self._pace(self)
        return pace

    @task
    def call_api(self) -> None:
        """One logical API call: the flow fetches tokens and retries as its policy says.

        Its latency is the whole call's (token requests, retries and waits
        included), for built-in, custom and own clients alike, as in simulate.
        """
        if self.own_client is not None:
            self._call_own_client(self.own_client)
            return
        started = time.perf_counter()
        try:
            flow = cast(Strategy, self.strategy).call(HttpRequest("GET", self.api_url))
            response = self.driver.run(flow)
        except Abandoned:
            RECORDER.tally.record_flow(ABANDONED)
            return
        except GreenletExit:  # locust ended this user while the call still ran
            _cut_off(started)
            raise
        except Exception as error:  # a StrategyError, or a custom strategy's own exception
            RECORDER.tally.record_call_latency((time.perf_counter() - started) * 1000)
            RECORDER.record_strategy_error(error)
            return
        except BaseException as error:  # sys.exit(), Ctrl-C, any other non-Exception
            self._stop_run("the strategy", error)
        RECORDER.tally.record_call_latency((time.perf_counter() - started) * 1000)
        ok = 200 <= response.status < 300
        RECORDER.tally.record_flow("ok" if ok else f"http_{response.status}")

    def _stop_run(self, what: str, error: BaseException) -> NoReturn:
        """``what`` raised ``error`` (``sys.exit``, Ctrl-C): stop the whole run, which
        quotalab then reports as failed in one line, and this user now."""
        self._record_fatal(f"{what} raised {type(error).__name__}")
        raise StopUser from None

    def _record_fatal(self, fatal: str) -> None:
        """Stop the whole run for ``fatal``, which quotalab then reports as failed in one
        line (the first reason in this process wins)."""
        if not RECORDER.tally.fatal:
            RECORDER.tally.fatal = fatal
            logger.error("the run stops: %s", fatal)
            if not GATHERER.send_fatal(self.environment):  # else the master stops the run
                gevent.spawn(self.environment.runner.quit)

    def _call_own_client(self, client: OwnClient) -> None:
        """A client doing its own I/O: only how each call ended and its latency are seen here.

        A call that raises is a failed call, never a lost one (docs/strategies.md).
        ``KeyboardInterrupt``/``SystemExit`` out of ``call_api`` stop the run:
        quotalab reports why in one line.
        """
        path = self.environment.parsed_options.api_path
        started = time.perf_counter()
        try:
            status = client.call_api(path)
            if inspect.isawaitable(status):  # an async call_api: awaited on this process's loop
                status = ASYNC_CALLS.wait_for(status)
        except StopUser:  # from _UNBUILT: this user is stopping, no call was made
            raise
        except CallStopped as stopped:  # an async call_api raised sys.exit() or Ctrl-C
            self._stop_run("call_api", stopped.error)
        except GreenletExit:  # locust ended this user while the call still ran
            _cut_off(started)
            raise
        except Exception as error:  # any exception out of call_api is a failed call
            latency_ms = (time.perf_counter() - started) * 1000
            RECORDER.record_own_failure(time.time(), error, latency_ms)
            return
        except BaseException as error:  # sys.exit(), Ctrl-C, any other non-Exception
            self._stop_run("call_api", error)
        latency_ms = (time.perf_counter() - started) * 1000
        RECORDER.record_own_call(time.time(), status, latency_ms)
