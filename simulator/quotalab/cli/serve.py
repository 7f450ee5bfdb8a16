"""``quotalab serve``: run the mock token server (Auth0, Twitter, Entra ID, Okta)."""

from __future__ import annotations

import gc
import importlib.util
import os
import secrets
import shlex
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from quotalab.cli.entry import app
from quotalab.counters import DEFAULT_MAX_TRACKED_CLIENTS
from quotalab.errors import InputError
from quotalab.limits import open_store
from quotalab.limits.redis_store import redacted
from quotalab.profiles import (
    BUILTIN_PROFILES,
    ClientSpec,
    EndpointSpec,
    ProviderConfig,
    load_config,
)
from quotalab.run.settings import is_loopback_host
from quotalab.server import runner
from quotalab.server.asgi import create_app
from quotalab.server.keys import generate_private_pem
from quotalab.server.read_timeouts import (
    DEFAULT_READ_TIMEOUT_S,
    ENV_READ_TIMEOUT_S,
    protocol_for,
    read_timeout_protocol,
)
from quotalab.server.tls import LocalCA, local_ca
from quotalab.strategies.profile_client import requested_scope
from quotalab.wire import is_bearer_token

ENV_ADMIN_TOKEN = runner.ENV_ADMIN_TOKEN


SECRET_MASK = "********"
"""How the banner shows a secret: fixed, so it says nothing of its text or length."""


def check_can_listen(host: str, port: int) -> None:
    """Fail in one line before start-up if ``host:port`` cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise InputError(f"--host {host!r} does not resolve: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise InputError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def banner(
    config: ProviderConfig,
    base_url: str,
    no_limits: bool,
    public_secrets: frozenset[tuple[str, str]] = frozenset(),
    ca_file: str | None = None,
) -> str:
    """What the server prints on start: URLs, client ids and a curl to try.

    With ``ca_file`` (``--tls``) the curl trusts that CA (``--cacert``).

    Secrets are masked, except the built-in profiles' documented demo ones
    (``public_secrets``, pairs of id and secret), so a quick start still
    works by copy and paste while no secret from ``--config`` is ever shown.
    """
    curl = f"curl -s --cacert {shlex.quote(ca_file)}" if ca_file else "curl -s"
    lines = [f"quotalab mock {config.settings.name} server on {base_url}"]
    for endpoint in config.endpoints:
        lines.append(f"  {endpoint.method:<5} {base_url}{endpoint.path}")
    lines.append(f"  GET   {base_url}/_admin/stats   POST {base_url}/_admin/reset")
    lines.append(f"  GET   {base_url}/_admin/faults  PUT  (faults)   GET {base_url}/metrics")
    lines.append("limits: " + ("OFF (--no-limits)" if no_limits else "on"))
    token = next(
        (e for e in config.endpoints if e.kind in ("auth0_token", "twitter_token", "oauth2_token")),
        None,
    )
    for client in config.clients.values():
        public = (client.client_id, client.secret) in public_secrets
        shown = client.secret if public else SECRET_MASK
        secret_arg = client.secret if public else "YOUR_SECRET"
        if token is not None and token.kind == "oauth2_token":
            lines.extend(_oauth2_try(config, token, client, base_url, shown, secret_arg, curl))
        elif token is not None and token.kind == "auth0_token":
            audience = client.audiences[0] if client.audiences else next(iter(config.audiences), "")
            lines.append(
                f"client: {client.client_id} / {shown}  audience {audience}  "
                f"scopes {' '.join(client.scopes)}"
            )
            lines.append(
                f"try:    {curl} -X POST {base_url}{token.path} "
                "-H 'content-type: application/json' "
                f"""-d '{{"grant_type":"client_credentials","client_id":"{client.client_id}","""
                f""""client_secret":"{secret_arg}","audience":"{audience}"}}'"""
            )
        elif token is not None:
            lines.append(f"app:    {client.client_id} / {shown}")
            lines.append(
                f"try:    {curl} -u '{client.client_id}:{secret_arg}' -X POST "
                f"{base_url}{token.path} -d grant_type=client_credentials"
            )
    return "\n".join(lines)


def builtin_secrets(profile: str) -> frozenset[tuple[str, str]]:
    """The documented demo credentials of a built-in profile (nothing for other files)."""
    if profile not in BUILTIN_PROFILES:
        return frozenset()
    return frozenset((c.client_id, c.secret) for c in load_config(profile).clients.values())


def _oauth2_try(
    config: ProviderConfig,
    token: EndpointSpec,
    client: ClientSpec,
    base_url: str,
    shown: str,
    secret_arg: str,
    curl: str,
) -> list[str]:
    scope = requested_scope(config, token, client)
    auth = (
        f"-u '{client.client_id}:{secret_arg}'"
        if token.client_auth[0] == "client_secret_basic"
        else f"-d client_id={client.client_id} -d client_secret={secret_arg}"
    )
    return [
        f"client: {client.client_id} / {shown}  scope {scope}",
        f"try:    {curl} -X POST {base_url}{token.path} {auth} "
        f"-d grant_type=client_credentials --data-urlencode 'scope={scope}'",
    ]


STACK_CHOICES = {"http": ("auto", "h11", "httptools"), "loop": ("auto", "asyncio", "uvloop")}


def check_stack(http: str, loop: str) -> None:
    """Refuse an unknown or missing HTTP parser or event loop in one line."""
    for option, value in (("http", http), ("loop", loop)):
        choices = STACK_CHOICES[option]
        if value not in choices:
            raise InputError(f"--{option} {value!r}: expected one of {', '.join(choices)}")
        if value in ("httptools", "uvloop") and importlib.util.find_spec(value) is None:
            raise InputError(
                f"--{option} {value}: not installed; pip install 'quotalab[fast]' brings it"
            )


@app.command()
def serve(
    profile: str = typer.Option("auth0", help=f"Built-in profile: {', '.join(BUILTIN_PROFILES)}."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML overriding the profile.")
    ] = None,
    no_limits: bool = typer.Option(False, "--no-limits", help="Turn throttling off."),
    store: str = typer.Option("memory://", help="Limiter store URL (redis://... to share)."),
    workers: int = typer.Option(1, help="Server processes; > 1 needs a shared --store."),
    max_tracked_clients: int = typer.Option(
        DEFAULT_MAX_TRACKED_CLIENTS,
        "--max-tracked-clients",
        help="Configured client ids counted one by one; further ones count as 'other', "
        "ids the profile does not configure as 'unknown'.",
    ),
    admin_token: str = typer.Option(
        "",
        "--admin-token",
        envvar=ENV_ADMIN_TOKEN,
        help="Require 'Authorization: Bearer TOKEN' on /_admin/*. Generated and printed "
        "when --host is not loopback.",
        show_default=False,
    ),
    read_timeout: float = typer.Option(
        DEFAULT_READ_TIMEOUT_S,
        "--read-timeout",
        help="Seconds to receive a whole request (headers and body) before closing.",
    ),
    tls: bool = typer.Option(False, "--tls", help="Serve HTTPS with a throwaway local CA."),
    tls_dir: Annotated[
        Path | None,
        typer.Option("--tls-dir", help="With --tls: write ca.pem here (default: a temp dir)."),
    ] = None,
    http: str = typer.Option(
        "auto", help="HTTP parser: auto (httptools when installed), h11 or httptools."
    ),
    loop: str = typer.Option(
        "auto", help="Event loop: auto (uvloop when installed), asyncio or uvloop."
    ),
) -> None:
    """Run the mock token server.

    The fast HTTP stack (httptools, uvloop) comes with pip install 'quotalab\\[fast]'.

    Example: quotalab serve --profile entra --tls --tls-dir /tmp/quotalab-tls
    """
    check_stack(http, loop)
    if max_tracked_clients < 1:
        raise InputError(f"--max-tracked-clients must be >= 1, got {max_tracked_clients}")
    if not 0 < read_timeout <= 3600:
        raise InputError(f"--read-timeout must be between 0 and 3600 seconds, got {read_timeout:g}")
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if not 1 <= port <= 65535:
        raise InputError(f"--port must be between 1 and 65535, got {port}")
    if workers > 1 and store.startswith("memory"):
        raise InputError(
            "--workers > 1 needs a shared store: pass --store redis://HOST:PORT/DB "
            "(memory:// keeps separate limits in each worker)"
        )
    if tls_dir is not None and not tls:
        raise InputError("--tls-dir needs --tls")
    # Sent back as "Authorization: Bearer <token>": a header value, so visible ASCII.
    # The token itself is a secret and stays out of the message.
    if not is_bearer_token(admin_token):
        raise InputError(
            f"--admin-token (or {ENV_ADMIN_TOKEN}) must be printable ASCII without spaces"
        )
    loaded = load_config(profile, config)
    check_can_listen(host, port)
    shown_host = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    authority: LocalCA | None = local_ca(tls_dir) if tls else None
    ca_file = None if authority is None else str(authority.ca_file)
    stop_on_sigterm()
    try:
        ssl_files: dict[str, str] = {}
        if authority is not None:
            ssl_files = {
                "ssl_certfile": str(authority.server_file),
                "ssl_keyfile": str(authority.server_file),
            }
        base_url = f"{'https' if tls else 'http'}://{shown_host}:{port}"
        public = builtin_secrets(profile)
        if not is_loopback_host(host):
            typer.echo(
                f"warning: listening on {host}, beyond this machine: anyone who can reach it can "
                "get tokens and load it; /_admin/* needs the admin token below",
                err=True,
            )
            if not admin_token:
                admin_token = secrets.token_urlsafe(24)
            typer.echo(f"admin token: {admin_token}  (send Authorization: Bearer <token>)")
        if workers == 1:
            provider = runner.build_provider(
                profile,
                config,
                store_url=store,
                no_limits=no_limits,
                base_url=base_url,
                max_tracked_clients=max_tracked_clients,
            )
            provider.admin_token = admin_token
            typer.echo(banner(loaded, base_url, no_limits, public, ca_file))
            if authority is not None:
                typer.echo(authority.instructions())
            # Everything built so far (modules, profile, compiled responses) lives as
            # long as the server: keep full collections from walking it again and again.
            gc.freeze()
            uvicorn.run(
                create_app(provider),
                host=host,
                port=port,
                http=read_timeout_protocol(read_timeout, http),
                loop=loop,
                ws="none",  # no WebSocket endpoints: an upgrade is answered as plain HTTP
                log_level="warning",
                server_header=False,
                access_log=False,
                **ssl_files,  # type: ignore[arg-type]
            )
            return
        open_store(store)  # fail here, in one line, if the shared store is unreachable
        typer.echo(banner(loaded, base_url, no_limits, public, ca_file))
        if authority is not None:
            typer.echo(authority.instructions())
        typer.echo(
            f"workers: {workers}; limits and per-client counters are shared through "
            f"{redacted(store)}; Twitter bearer tokens are per worker (see docs/server.md)"
        )
        with tempfile.TemporaryDirectory(prefix="quotalab-") as tmp:
            key_file = Path(tmp) / "signing-key.pem"
            if loaded.settings.token_signing == "RS256":
                key_file.write_bytes(generate_private_pem())
            else:
                key_file.write_bytes(os.urandom(32))
            os.environ.update(
                {
                    runner.ENV_PROFILE: profile,
                    runner.ENV_CONFIG: str(config or ""),
                    runner.ENV_STORE: store,
                    runner.ENV_COUNTERS: store,
                    runner.ENV_NO_LIMITS: "1" if no_limits else "0",
                    runner.ENV_BASE_URL: base_url,
                    runner.ENV_KEY_FILE: str(key_file),
                    runner.ENV_MAX_TRACKED_CLIENTS: str(max_tracked_clients),
                    ENV_ADMIN_TOKEN: admin_token,
                    ENV_READ_TIMEOUT_S: str(read_timeout),
                }
            )
            uvicorn.run(
                "quotalab.server.runner:create_app_from_env",
                factory=True,
                host=host,
                port=port,
                http=protocol_for(http),
                loop=loop,
                workers=workers,
                ws="none",  # no WebSocket endpoints: an upgrade is answered as plain HTTP
                log_level="warning",
                server_header=False,
                access_log=False,
                **ssl_files,  # type: ignore[arg-type]
            )
    finally:
        if authority is not None and tls_dir is None:  # our temp dir: CA and server key
            shutil.rmtree(authority.directory, ignore_errors=True)


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so ``finally`` clean-ups run.

    uvicorn shuts down gracefully on SIGTERM and then re-raises it with the
    previous handler: the default one would end the process on the spot.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
