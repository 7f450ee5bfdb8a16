"""A simulated scenario: the real profile, provider and strategies wired to the engine.

Every strategy runs against its own fresh provider (as separate live runs
would), with ``clients`` registered client ids and ``workers_per_client``
workers each; workers of one client share one token cache unless
``shared_cache`` is off.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from quotalab.clock import EngineClock, VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.errors import InputError
from quotalab.limits import MemoryStore
from quotalab.profiles import ClientSpec, ProviderConfig, load_config
from quotalab.server.mock_provider import MockProvider
from quotalab.sim.aggregates import ClientTally
from quotalab.sim.cycles import ProviderCycles
from quotalab.sim.engine import CacheGroup, Engine, EngineResult, Worker
from quotalab.sim.event_queue import EventQueue
from quotalab.sim.fast_provider import FastProvider
from quotalab.sim.fastforward import ProviderOracle
from quotalab.sim.signing import FastHS256Keys
from quotalab.sim.token_handles import HandleKeys
from quotalab.sim.traffic import arrivals
from quotalab.strategies import NAMES, TokenCache, make_strategy
from quotalab.strategies.client_settings import ClientSettings
from quotalab.strategies.messages import Strategy
from quotalab.strategies.own_client import OwnClient, build_strategy
from quotalab.strategies.profile_client import client_settings_for
from quotalab.user_files import read_json, read_text
from quotalab.wire import HttpRequest

BASE_URL = "http://quotalab.sim"
API_PATHS = {"jwt_api": 0, "bearer_api": 1}


MAX_WORKERS = 100_000
"""Workers (clients x workers per client) a simulation may hold: each is an object, and
a million of them is memory a machine may not have."""
MAX_RATE = 100_000.0  # calls per second per client
MAX_DURATION_S = 366 * 86_400.0  # a year of quota, and a day to spare
MAX_LATENCY_S = 60.0


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything that determines a simulated run (with the seed, all of it)."""

    profile: str = "auth0"
    config_path: str | None = None
    clients: int = 10
    workers_per_client: int = 1
    shared_cache: bool = True
    duration_s: float = 3600.0
    traffic: str = "constant"
    rate: float = 1.0
    strategies: tuple[str, ...] = ("naive", "cached", "backoff", "cached+backoff")
    seed: int = 0
    latency_s: float = 0.02
    fast_forward: bool = True
    fast_path: bool = True
    drain_s: float = 3600.0  # how long calls still in flight at the end may go on

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise InputError(f"--clients must be >= 1, got {self.clients}")
        if self.workers_per_client < 1:
            raise InputError(f"--workers-per-client must be >= 1, got {self.workers_per_client}")
        if self.clients * self.workers_per_client > MAX_WORKERS:
            raise InputError(
                f"--clients {self.clients} x --workers-per-client {self.workers_per_client} "
                f"is impossible; at most {MAX_WORKERS:,} workers in all"
            )
        if not (math.isfinite(self.rate) and 0 < self.rate <= MAX_RATE):
            raise InputError(
                f"--rate {self.rate:g} is impossible; calls per second per client, "
                f"> 0 and <= {MAX_RATE:g}"
            )
        if not (math.isfinite(self.duration_s) and 0 < self.duration_s <= MAX_DURATION_S):
            raise InputError(f"--duration {self.duration_s:g}s is impossible; use up to 366 days")
        if not (math.isfinite(self.latency_s) and 0 <= self.latency_s <= MAX_LATENCY_S):
            raise InputError(
                f"--latency-ms {self.latency_s * 1000:g} is impossible; use 0 to "
                f"{MAX_LATENCY_S * 1000:g}"
            )
        if not self.drain_s >= 0:
            raise InputError(f"drain must be >= 0 s, got {self.drain_s}")
        if not self.strategies:
            raise InputError(f"--strategies: no strategy given; use some of {', '.join(NAMES)}")
        unknown = [s for s in self.strategies if s not in NAMES and ":" not in s]
        if unknown:
            raise InputError(
                f"--strategies: unknown strategy {unknown[0]!r}; use some of "
                f"{', '.join(NAMES)} or package.module:factory"
            )


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """One strategy's engine result and the provider's own stats after it."""

    strategy: str
    result: EngineResult
    provider_stats: dict[str, object]


def simulation_config(settings: SimSettings) -> ProviderConfig:
    """The profile with one registered client per simulated client and cheap signing."""
    config = load_config(settings.profile, settings.config_path)
    template = _template_client(config)
    clients = dict(config.clients)
    for i in range(settings.clients):
        client_id = f"sim-client-{i:04d}"
        clients[client_id] = dataclasses.replace(template, client_id=client_id)
    provider_settings = dataclasses.replace(config.settings, token_signing="HS256")
    return dataclasses.replace(config, clients=clients, settings=provider_settings)


def _template_client(config: ProviderConfig) -> ClientSpec:
    if not config.clients:
        raise InputError(f"profile {config.settings.name!r} registers no client to copy")
    return next(iter(config.clients.values()))


def _client_settings(config: ProviderConfig, client: ClientSpec) -> ClientSettings:
    return client_settings_for(config, client, BASE_URL)


def api_request(config: ProviderConfig) -> HttpRequest:
    """The API call every simulated client makes: the profile's first protected endpoint."""
    for endpoint in config.endpoints:
        if endpoint.kind in API_PATHS:
            return HttpRequest(endpoint.method, BASE_URL + endpoint.path)
    raise InputError(f"profile {config.settings.name!r} has no protected API endpoint")


def build_run(
    settings: SimSettings, strategy: str, clock: VirtualClock, config: ProviderConfig
) -> tuple[MockProvider, list[Worker]]:
    """A fresh provider and the workers of every client for ``strategy``."""
    provider = MockProvider(
        config,
        clock,
        MemoryStore(),
        MemoryCounters(),
        keys=HandleKeys(settings.seed) if settings.fast_path else FastHS256Keys(settings.seed),
        base_url=BASE_URL,
    )
    request = api_request(config)
    start = clock.now()
    workers: list[Worker] = []
    for i in range(settings.clients):
        client_id = f"sim-client-{i:04d}"
        client = config.clients[client_id]
        client_settings = _client_settings(config, client)
        tally = ClientTally()
        shared = TokenCache()
        group: CacheGroup | None = None
        for w in range(settings.workers_per_client):
            # Arrivals depend on the seed and the worker only, so every strategy
            # meets the same calls; the strategy's own choices (jitter) draw apart.
            traffic_rng = random.Random(f"{settings.seed}:traffic:{i}:{w}")
            rng = random.Random(f"{settings.seed}:strategy:{strategy}:{i}:{w}")
            if group is None or not settings.shared_cache:
                cache = shared if settings.shared_cache else TokenCache()
                if strategy in NAMES:
                    made = make_strategy(
                        strategy,
                        client_settings,
                        clock=clock,
                        rng=rng,
                        cache=None if strategy == "article" else cache,
                    )
                else:
                    made = sans_io_strategy(strategy, client_settings, clock, rng)
                group = CacheGroup(made)
            times = arrivals(
                settings.traffic, settings.rate / settings.workers_per_client, start, traffic_rng
            )
            workers.append(Worker(client_id, w, group, request, times, tally))
    return provider, workers


def sans_io_strategy(
    spec: str, settings: ClientSettings, clock: VirtualClock, rng: random.Random
) -> Strategy:
    """A ``package.module:factory`` strategy for the engine; an own client is refused.

    Each client's (or, without a shared cache, each worker's) strategy comes
    from its own factory call, so a strategy keeping its own cache gets one per
    client, as the built-ins do.
    """
    made = build_strategy(spec, settings, clock=clock, rng=rng)
    if isinstance(made, OwnClient):
        raise InputError(
            f"--strategies {spec!r} returned an own client ({type(made).__name__}.call_api), "
            "whose blocking HTTP cannot run on simulate's virtual clock: measure it with "
            "quotalab run, or return a sans-I/O strategy (docs/strategies.md)"
        )
    return made


def check_strategies(settings: SimSettings) -> None:
    """Build each custom strategy once, before anything runs: a factory that fails,
    or returns an own client, is a one-line ``InputError`` now, not mid-run."""
    config = simulation_config(dataclasses.replace(settings, clients=1))
    client_settings = _client_settings(config, _template_client(config))
    for name in settings.strategies:
        if name not in NAMES:
            sans_io_strategy(name, client_settings, VirtualClock(), random.Random(0))


def run_strategy(
    settings: SimSettings,
    strategy: str,
    *,
    faults_path: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> StrategyRun:
    """Simulate ``strategy`` alone for the whole duration (faults from a JSON file).

    ``progress`` is told the fraction of virtual time played, now and then.
    """
    clock = EngineClock()  # moved by the engine's loop alone
    config = simulation_config(settings)
    provider, workers = build_run(settings, strategy, clock, config)
    load_faults(provider, faults_path)
    queue = EventQueue()
    oracle: ProviderOracle | None = None
    cycles: ProviderCycles | None = None
    if settings.fast_forward:
        oracle = ProviderOracle(provider, settings.workers_per_client, queue.at)
        cycles = ProviderCycles(provider, [w.group for w in workers], oracle)
        if not any(oracle.can_prove(w.group.strategy) for w in workers):
            oracle = None  # it would answer "not quiet" at every arrival
    engine = Engine(
        FastProvider(provider) if settings.fast_path else provider,
        clock,
        workers,
        duration_s=settings.duration_s,
        latency_s=settings.latency_s,
        drain_s=settings.drain_s,
        queue=queue,
        oracle=oracle,
        cycles=cycles,
        progress=progress,
    )
    result = engine.run()
    return StrategyRun(strategy, result, provider.stats())


def load_faults(provider: MockProvider, path: str | Path | None) -> None:
    """Apply a ``/_admin/faults``-style JSON document from ``path``."""
    if path is None:
        return
    try:
        document = read_json(read_text(path))
    except OSError as error:
        raise InputError(f"--faults {path}: cannot be read ({error.strerror})") from None
    except ValueError as error:  # UnusableText, or text that is not UTF-8
        raise InputError(f"--faults {path}: not JSON ({error})") from None
    provider.set_faults(document)
