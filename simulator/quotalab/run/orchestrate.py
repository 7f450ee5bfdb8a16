"""A comparison run: one locust run per strategy, each against fresh server state.

The mock server runs in this process on a free loopback port (a uvicorn
thread; this process only waits on locust meanwhile) unless ``--target``
names a running one. Between strategies ``POST /_admin/reset`` zeroes the
counters and refills every limit, so each strategy meets the same server.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quotalab.clock import SystemClock
from quotalab.counters import MemoryCounters
from quotalab.errors import InputError, QuotalabError
from quotalab.evidence import Lack, lack_of_evidence
from quotalab.limits import open_store
from quotalab.profiles import load_config
from quotalab.profiles.profile_model import ProviderConfig
from quotalab.report.day_projection import IssuanceObservation
from quotalab.report.quota_plans import quota_plan
from quotalab.report.values import QuotaPlan
from quotalab.run import admin_client as admin
from quotalab.run.issuance_timeline import IssuanceSampler, ReadCount, tally_timeline
from quotalab.run.live_measurements import Figures, disagreements, figures_of, server_totals
from quotalab.run.locust_process import (
    EXIT_GRACE_S,
    ClientArgs,
    Elapsed,
    LocustJob,
    run_locust,
)
from quotalab.run.server_series import SeriesCounters
from quotalab.run.settings import RunSettings
from quotalab.server.mock_provider import MockProvider
from quotalab.server.runner import serve_in_thread
from quotalab.server.tls import local_ca
from quotalab.spawned import call_in_child
from quotalab.strategies.own_client import OwnClient, build_strategy, load_strategy
from quotalab.strategies.profile_client import TOKEN_STYLES, client_settings_for
from quotalab.strategies.registry import NAMES

API_KINDS = ("jwt_api", "bearer_api")

# (strategy, elapsed) -> None: called while a strategy runs, for progress bars.
Tick = Callable[[str, Elapsed], None]


@dataclass(frozen=True, slots=True)
class RunResult:
    """Every strategy's figures, in the order they ran, what to warn about, the
    issuance observations and plan, and ``problems``: why the run cannot be
    trusted (``quotalab run`` exits 1)."""

    settings: RunSettings
    base_url: str
    figures: tuple[Figures, ...]
    warnings: tuple[str, ...]
    observations: Mapping[str, IssuanceObservation] = field(default_factory=dict)
    plan: QuotaPlan = field(default_factory=QuotaPlan)
    problems: tuple[str, ...] = ()


def client_args_for(config: ProviderConfig) -> ClientArgs:
    """The token and API endpoints of ``config`` and its first registered client."""
    token = next((e for e in config.endpoints if e.kind in TOKEN_STYLES), None)
    api = next((e for e in config.endpoints if e.kind in API_KINDS), None)
    if token is None or api is None:
        raise InputError("the profile needs a token endpoint and an API endpoint to run load")
    if not config.clients:
        raise InputError("the profile registers no client: add one under [clients.<id>]")
    client = next(iter(config.clients.values()))
    audience = api.audience or (client.audiences[0] if client.audiences else "")
    settings = client_settings_for(config, client, "http://unused")
    return ClientArgs(
        style=settings.style,
        token_path=token.path,
        api_path=api.path,
        client_id=client.client_id,
        client_secret=client.secret,
        audience=audience,
        scope=settings.scope,
        client_auth=settings.client_auth,
        retry_budget_s=config.settings.client_retry_budget_s,
        cooldown_s=config.settings.client_cooldown_s,
    )


def provider_config(settings: RunSettings) -> ProviderConfig:
    """The profile (and ``--config``) the run uses, with the token lifetime it asks for."""
    config = load_config(settings.profile, settings.config)
    lifetime = settings.token_lifetime_s or settings.scenario.token_lifetime_s
    if lifetime is not None and _tokens_never_expire(config):
        asked = (
            f"--token-lifetime {lifetime:g}s"
            if settings.token_lifetime_s
            else f"the {settings.scenario.name} scenario's {lifetime:g}s tokens"
        )
        raise InputError(
            f"{asked}: the {settings.profile} profile's app-only bearer tokens never "
            "expire, so there are no refreshes to measure; run it without"
        )
    if lifetime is not None and settings.target is None:
        shorter = dataclasses.replace(config.settings, token_lifetime_s=int(lifetime))
        config = dataclasses.replace(config, settings=shorter)
    return config


def _tokens_never_expire(config: ProviderConfig) -> bool:
    """Whether ``config`` issues Twitter's app-only bearer tokens, which never expire."""
    return any(endpoint.kind == "twitter_token" for endpoint in config.endpoints)


def token_lifetimes(
    settings: RunSettings, config: ProviderConfig
) -> tuple[float | None, float | None]:
    """``(during the run, of the profile)``: the lifetime tokens had, and the one to project at.

    Twitter's app-only bearer tokens never expire: ``(None, None)``.
    """
    if _tokens_never_expire(config):
        return None, None
    real = float(load_config(settings.profile, settings.config).settings.token_lifetime_s)
    return float(config.settings.token_lifetime_s), real


def run_plan(settings: RunSettings, config: ProviderConfig) -> QuotaPlan:
    """The quota plan the projections read: ``--plan``, else the profile's first plan."""
    return quota_plan(config, settings.profile, settings.plan)


def token_count_reader(base_url: str, client_ids: Sequence[str]) -> ReadCount:
    """Read the server's count of tokens issued to ``client_ids`` (every client when
    empty, as the run counts an own client's requests); None when it cannot."""

    def read() -> int | None:
        try:
            return server_totals(admin.stats(base_url), client_ids).get("tokens_issued", 0)
        except InputError:
            return None

    return read


@contextmanager
def server_for(
    settings: RunSettings, config: ProviderConfig, work_dir: Path | None = None
) -> Iterator[tuple[str, SeriesCounters | None]]:
    """The base URL to load: ``--target`` as given, else a local server on a free port.

    A local server also keeps its own per-second series (``None`` for a ``--target``).
    With ``--tls`` it speaks HTTPS; its throwaway CA is written to
    ``work_dir/tls`` and trusted through ``SSL_CERT_FILE`` and
    ``REQUESTS_CA_BUNDLE`` by this process and the locust processes it starts.
    """
    if settings.target is not None:
        yield settings.target, None
        return
    clock = SystemClock()
    counters = SeriesCounters(MemoryCounters(), clock.now)
    provider = MockProvider(config, clock, open_store("memory://"), counters)
    authority = None
    if settings.tls:
        authority = local_ca(None if work_dir is None else work_dir / "tls")
    with ExitStack() as stack:
        if authority is not None and work_dir is None:  # a temp dir: CA and server key
            stack.callback(shutil.rmtree, authority.directory, ignore_errors=True)
        if authority is not None:
            stack.enter_context(_environment(authority.client_environment()))
        base_url = stack.enter_context(serve_in_thread(provider, "127.0.0.1", 0, tls=authority))
        yield base_url, counters


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(slots=True)
class StartOfTest:
    """When a strategy's locust test started, in epoch seconds: locust's own start until
    the test is seen to start (a master may wait long for its workers before it)."""

    at_s: float
    seen: bool = False

    def see(self, elapsed: Elapsed, now_s: float) -> None:
        """Take the test's start from the first tick that has one."""
        if not self.seen and elapsed.test_s is not None:
            self.at_s = now_s - elapsed.test_s
            self.seen = True


def strategy_ticker(
    tick: Tick | None,
    strategy: str,
    sampler: IssuanceSampler,
    test_start: StartOfTest,
    now: Callable[[], float] = time.time,
) -> Callable[[Elapsed], None]:
    """``tick`` bound to one strategy's name, sampling the server's token count as it goes
    (at the seconds since the test started: no token is issued before it), and noting
    the test's start in ``test_start``."""

    def on_tick(elapsed: Elapsed) -> None:
        test_start.see(elapsed, now())
        sampler.sample(0.0 if elapsed.test_s is None else elapsed.test_s)
        if tick is not None:
            tick(strategy, elapsed)

    return on_tick


def own_clients_of(settings: RunSettings, config: ProviderConfig, base_url: str) -> frozenset[str]:
    """Build each strategy once, before any load; the specs that are own clients.

    A factory that fails (raises, returns no client) is an ``InputError`` now,
    in one line, rather than a run of locust users that all die. Your own
    strategies are built in a process of their own, ended once they are
    built: a client that starts a token refresher in its constructor must
    neither keep ``quotalab`` alive after its report nor spend tokens that
    the server would count against the strategies that run next.
    """
    if not config.clients:
        raise InputError("the profile registers no client: add one under [clients.<id>]")
    owned: frozenset[str] | None = _with_own(settings, _own_clients, settings, config, base_url)
    return frozenset() if owned is None else owned  # None: built-ins only, none fails


def check_strategy_specs(settings: RunSettings) -> None:
    """Every strategy of ``settings`` resolves to a factory: an own module that cannot be
    imported, or has no such callable, is an ``InputError`` before any server starts.

    Nothing is built here: a factory may reach the server as it builds its client
    (a token fetched in a constructor, discovery read), so it is called only
    against the run's own server (``own_clients_of``). Your modules are imported
    in a process of their own, so whatever they start at import ends with it.
    """
    _with_own(settings, _load_each, settings.strategies)


def _with_own(settings: RunSettings, target: Callable[..., Any], *args: Any) -> Any:
    """``target(*args)`` in a spawned process when ``settings`` names a strategy of your
    own (``call_in_child``); None, and no process, for built-in strategies alone."""
    if all(strategy in NAMES for strategy in settings.strategies):
        return None
    return call_in_child(target, args, f"checking {', '.join(settings.strategies)}")


def _load_each(specs: tuple[str, ...]) -> None:
    """``check_strategy_specs``'s work, in the process that imports the modules."""
    for spec in specs:
        load_strategy(spec)


def _own_clients(settings: RunSettings, config: ProviderConfig, base_url: str) -> frozenset[str]:
    """``own_clients_of``'s work, in the process that builds the strategies."""
    client = next(iter(config.clients.values()))
    owned = set()
    for strategy in settings.strategies:
        made = build_strategy(
            strategy,
            client_settings_for(config, client, base_url),
            clock=SystemClock(),
            rng=random.Random(0),
        )
        if isinstance(made, OwnClient):
            owned.add(strategy)
    return frozenset(owned)


def untrustworthy(figures: Figures, own_client: bool) -> list[str]:
    """Why a strategy's figures cannot be trusted (``quotalab.evidence``), with what to
    look at; the server's reasons only where its counts are the figures'."""
    counts = figures.counts
    found = lack_of_evidence(
        counts.calls, counts.ok, counts.api_calls, counts.api_ok, counts.token_requests
    )
    if found is None:
        return []
    lack, reason = found
    if lack in ("unseen", "swallowed") and figures.source != "server":
        return []
    hints: dict[Lack, str] = {
        "no_call": f" in {figures.duration_s:g} s (a call_api that never returns? see the "
        "locust log)",
        "unseen": " (call_api must call settings.api_base_url + path)" if own_client else "",
        "swallowed": " (call_api must return the API's status, not hide a failure behind a 200)",
        "uncounted": " (a wrong --target or token URL?)",
    }
    return [f"{figures.strategy}: {reason}{hints[lack]}"]


def check_target_provider(base_url: str, provider: str) -> None:
    """``InputError`` when the ``--target`` server plays another provider than this run's
    profile: every request would meet answers its clients were not written for (an
    Auth0 client's token requests are 404s at an Okta server), and the run measure that."""
    served = admin.stats(base_url).get("provider")
    if served != provider:
        raise InputError(
            f"--target {base_url} serves the {served!r} provider, this run's profile is "
            f"{provider!r}: pass the --profile (and --config) the target was started with"
        )


def run_comparison(settings: RunSettings, work_dir: Path, tick: Tick | None = None) -> RunResult:
    """Run every strategy of ``settings`` in turn; locust logs and tallies go to ``work_dir``."""
    config = provider_config(settings)
    client = client_args_for(config)
    plan = run_plan(settings, config)
    run_lifetime, real_lifetime = token_lifetimes(settings, config)
    results: list[Figures] = []
    warnings: list[str] = []
    observations: dict[str, IssuanceObservation] = {}
    problems: list[str] = []
    with server_for(settings, config, work_dir) as (base_url, counters):
        if settings.target is not None:
            check_target_provider(base_url, config.settings.name)
        own_clients = own_clients_of(settings, config, base_url)
        for strategy in settings.strategies:
            own = strategy in own_clients
            # Each strategy meets fresh server state, so every request of this run is
            # its own: an own client may present another id, or none (anonymous).
            counted_ids = [] if own else [client.client_id]
            admin.reset(base_url)
            slug = strategy.replace(":", "_").replace("+", "_")
            job = LocustJob(
                strategy=strategy,
                scenario=settings.scenario,
                host=base_url,
                users=settings.users,
                rate=settings.rate,
                duration_s=settings.duration_s,
                processes=settings.processes,
                client=client,
                tally_dir=work_dir / f"tally-{slug}",
                log_file=work_dir / f"locust-{slug}.log",
                master=settings.master,
            )
            test_start = StartOfTest(time.time())
            sampler = IssuanceSampler(token_count_reader(base_url, counted_ids))
            tally = run_locust(job, strategy_ticker(tick, strategy, sampler, test_start))
            # The series and the token timeline count from the test's start, not locust's.
            started = test_start.at_s
            ended_s = time.time() - started
            if tally.fatal:
                raise QuotalabError(f"{strategy}: {tally.fatal}; the run stopped")
            if tally.lingered:
                warnings.append(
                    f"{strategy}: locust did not exit {EXIT_GRACE_S:g} s after writing its "
                    "results (a thread of the client's own that is no daemon?) and was "
                    "stopped; its results are kept"
                )
            server = server_totals(admin.stats(base_url), counted_ids)
            series = None
            if counters is not None:
                series = counters.series(counted_ids, started, settings.duration_s)
            figures = figures_of(strategy, tally, server, started, settings.duration_s, series)
            timeline = sampler.timeline(figures.counts.tokens_issued, ended_s) if server else None
            observations[strategy] = IssuanceObservation(
                duration_s=settings.duration_s,
                issued_at_s=tally_timeline(tally) if timeline is None else timeline,
                api_calls=figures.counts.api_calls,
                run_lifetime_s=run_lifetime,
                real_lifetime_s=real_lifetime,
                callers=settings.users * settings.scenario.spike_factor,
            )
            for problem in disagreements(figures):
                warnings.append(f"{strategy}: client and server counts differ ({problem})")
            found = untrustworthy(figures, own)
            problems.extend(found)
            if not found and figures.source == "server" and figures.counts.api_calls == 0:
                warnings.append(f"{strategy}: no API call reached the server; see {job.log_file}")
            results.append(figures)
    return RunResult(
        settings, base_url, tuple(results), tuple(warnings), observations, plan, tuple(problems)
    )
