"""Building a provider from settings, and running it on a loopback port in a thread.

``serve_in_thread`` is what tests and ``quotalab run`` use to get a real
server without a subprocess; ``create_app_from_env`` is the uvicorn app
factory for ``quotalab serve --workers N`` (settings travel in environment
variables, since each worker process builds its own app).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from quotalab.clock import Clock, SystemClock
from quotalab.counters import (
    DEFAULT_MAX_TRACKED_CLIENTS,
    Counters,
    MemoryCounters,
    open_counters,
)
from quotalab.errors import InputError
from quotalab.limits import open_store
from quotalab.profiles import load_config
from quotalab.server.asgi import ProviderApp, create_app
from quotalab.server.keys import SigningKeys
from quotalab.server.mock_provider import MockProvider
from quotalab.server.read_timeouts import DEFAULT_READ_TIMEOUT_S, read_timeout_protocol
from quotalab.server.tls import LocalCA

ENV_PROFILE = "QUOTALAB_PROFILE"
ENV_CONFIG = "QUOTALAB_CONFIG"
ENV_STORE = "QUOTALAB_STORE"
ENV_COUNTERS = "QUOTALAB_COUNTERS"
ENV_NO_LIMITS = "QUOTALAB_NO_LIMITS"
ENV_BASE_URL = "QUOTALAB_BASE_URL"
ENV_KEY_FILE = "QUOTALAB_SIGNING_KEY_FILE"
ENV_MAX_TRACKED_CLIENTS = "QUOTALAB_MAX_TRACKED_CLIENTS"
ENV_ADMIN_TOKEN = "QUOTALAB_ADMIN_TOKEN"


def build_provider(
    profile: str = "auth0",
    config_path: str | Path | None = None,
    *,
    store_url: str = "memory://",
    no_limits: bool = False,
    clock: Clock | None = None,
    counters: Counters | None = None,
    base_url: str = "",
    key_file: str = "",
    max_tracked_clients: int = DEFAULT_MAX_TRACKED_CLIENTS,
) -> MockProvider:
    """A ``MockProvider`` from the same settings ``quotalab serve`` takes."""
    config = load_config(profile, config_path)
    keys = SigningKeys.from_file(config.settings.token_signing, key_file) if key_file else None
    provider = MockProvider(
        config,
        clock or SystemClock(),
        open_store(store_url),
        counters or MemoryCounters(max_tracked_clients=max_tracked_clients),
        keys=keys,
        base_url=base_url,
    )
    if no_limits:
        provider.limiter.enabled = False
    return provider


def create_app_from_env() -> ProviderApp:
    """The uvicorn app factory used by ``--workers N``."""
    env = os.environ
    tracked = int(env.get(ENV_MAX_TRACKED_CLIENTS, DEFAULT_MAX_TRACKED_CLIENTS))
    provider = build_provider(
        env.get(ENV_PROFILE, "auth0"),
        env.get(ENV_CONFIG) or None,
        store_url=env.get(ENV_STORE, "memory://"),
        no_limits=env.get(ENV_NO_LIMITS) == "1",
        counters=open_counters(env.get(ENV_COUNTERS, "memory://"), max_tracked_clients=tracked),
        base_url=env.get(ENV_BASE_URL, ""),
        key_file=env.get(ENV_KEY_FILE, ""),
    )
    provider.admin_token = env.get(ENV_ADMIN_TOKEN, "")
    return create_app(provider)


@contextmanager
def serve_in_thread(
    provider: MockProvider,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout_s: float = 10.0,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    keep_alive_s: int = 5,
    tls: LocalCA | None = None,
    http: str = "h11",
) -> Iterator[str]:
    """Serve ``provider`` on ``host:port`` (0 = a free port) in a thread; yield its base URL.

    The provider's issuer follows the bound address unless configured; a
    request not fully read within ``read_timeout_s`` has its connection closed, and
    so has a connection idle for ``keep_alive_s`` after an answer (uvicorn's default).
    With ``tls`` the server speaks HTTPS with that CA's server certificate
    (``https://`` base URL). ``http`` is uvicorn's parser: h11, httptools or auto.
    """
    config = uvicorn.Config(
        create_app(provider),
        host=host,
        port=port,
        http=read_timeout_protocol(read_timeout_s, http),
        timeout_keep_alive=keep_alive_s,
        ws="none",  # an Upgrade: websocket request is answered as plain HTTP
        log_level="warning",
        lifespan="off",
        server_header=False,
        access_log=False,
        ssl_certfile=str(tls.server_file) if tls is not None else None,
        ssl_keyfile=str(tls.server_file) if tls is not None else None,
        # An idle TLS keep-alive connection would hold shutdown for the whole join timeout.
        timeout_graceful_shutdown=1 if tls is not None else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="quotalab-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(startup_timeout_s)
            raise InputError(f"the server could not start on {host}:{port}")
        time.sleep(0.005)  # polling start-up, not waiting for a rate-limit window
    bound = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"{'https' if tls is not None else 'http'}://{host}:{bound}"
    if not provider.base_url:
        provider.base_url = base_url
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(startup_timeout_s)
