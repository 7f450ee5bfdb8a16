"""The settings of one comparison run, checked before anything starts.

Every impossible value becomes an ``InputError`` naming the option, what was
given and what would be accepted; the CLI prints it as one line, exit 2.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from quotalab.errors import InputError
from quotalab.run.scenarios import Scenario, scenario_named

DEFAULT_STRATEGIES: tuple[str, ...] = ("naive", "cached", "backoff", "cached+backoff")
MAX_USERS = 10_000
MAX_RATE = 1_000.0
MAX_DURATION_S = 7 * 24 * 3600.0
MAX_PROCESSES = 64
MAX_WORKERS = 1_000

MIN_TOKEN_LIFETIME_S = 2
LIFETIMES_PER_RUN = 2.0
"""With --token-lifetime and no --duration, a run lasts two lifetimes: refreshes show."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_CUSTOM = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True, slots=True)
class MasterSettings:
    """Run locust's master here and wait for workers started elsewhere (``--master``)."""

    expect_workers: int = 1
    bind_host: str = "127.0.0.1"
    bind_port: int = 5557


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What to run: scenario, strategies, load, where, and where results go."""

    scenario: Scenario
    strategies: tuple[str, ...]
    users: int
    rate: float
    duration_s: float
    profile: str
    processes: int = 1
    config: Path | None = None
    target: str | None = None
    out_dir: Path = Path("reports")
    gate: Path | None = None
    master: MasterSettings | None = None
    tls: bool = False
    token_lifetime_s: float | None = None
    plan: str | None = None
    simulate: bool = True


def parse_duration_s(text: str) -> float:
    """``"12"``, ``"12s"``, ``"2m"``, ``"1h"`` as seconds; ``InputError`` otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise InputError(f"--duration {text!r} is not a duration; use e.g. 30s, 2m or 1h")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def is_custom_strategy(name: str) -> bool:
    """True for a user's own strategy given as ``package.module:factory``."""
    return _CUSTOM.match(name) is not None


def parse_strategies(text: str, known: Sequence[str]) -> tuple[str, ...]:
    """A comma-separated list of known names or ``module:factory`` specs, no repeats."""
    names = tuple(part.strip() for part in text.split(","))
    if not any(names):
        raise InputError(f"--strategies {text!r}: no strategy given; use e.g. naive,cached")
    if any(not name for name in names):
        raise InputError(f"--strategies {text!r} has an empty name; use e.g. naive,cached")
    for name in names:
        if name not in known and not is_custom_strategy(name):
            raise InputError(
                f"--strategies: unknown strategy {name!r}; choose from {', '.join(known)} "
                "or give your own as package.module:factory"
            )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"--strategies names {', '.join(repeated)} more than once")
    return names


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_target(url: str, allow_remote: bool = False) -> str:
    """An absolute http(s) URL of a running server, without a trailing slash.

    A run floods its target and resets its counters: another machine needs
    ``--allow-remote``, so a typo or a pasted production URL is never loaded.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--target {url!r} is not a server URL; use e.g. http://127.0.0.1:8080")
    if "\\" in url or "@" in parts.netloc:
        # urllib, requests and httpx disagree on the host of such a URL (one read
        # 127.0.0.1, another would connect to the host before the "@").
        raise InputError(
            f"--target {url!r} has a backslash or user information, which clients read "
            "as different hosts; use e.g. http://127.0.0.1:8080"
        )
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        raise InputError(f"--target {url!r} has an impossible port") from None
    if not allow_remote and not is_loopback_host(parts.hostname):
        raise InputError(
            f"--target {url!r} is another machine: a run sends it load and POST /_admin/reset; "
            "add --allow-remote if it is a quotalab mock server you mean to load"
        )
    return url.rstrip("/")


def build_settings(
    *,
    scenario: str,
    strategies: str | None,
    known_strategies: Sequence[str],
    users: int | None,
    rate: float | None,
    duration: str | None,
    profile: str | None,
    processes: int,
    config: Path | None,
    target: str | None,
    out_dir: Path,
    gate: Path | None,
    master: bool = False,
    expect_workers: int | None = None,
    master_bind_host: str | None = None,
    master_bind_port: int | None = None,
    allow_remote: bool = False,
    tls: bool = False,
    token_lifetime: str | None = None,
    plan: str | None = None,
    simulate: bool = True,
) -> RunSettings:
    """Check every option against the others and the scenario's defaults."""
    chosen = scenario_named(scenario)
    names = (
        DEFAULT_STRATEGIES if strategies is None else parse_strategies(strategies, known_strategies)
    )
    users_n = chosen.users if users is None else users
    if not 1 <= users_n <= MAX_USERS:
        raise InputError(f"--users {users_n} is impossible; use 1 to {MAX_USERS}")
    rate_v = chosen.rate if rate is None else rate
    if not (math.isfinite(rate_v) and 0 < rate_v <= MAX_RATE):
        raise InputError(
            f"--rate {rate_v} is impossible; calls per second per user, > 0 and <= {MAX_RATE:g}"
        )
    lifetime_s = check_token_lifetime(token_lifetime, target)
    duration_s = chosen.duration_s if duration is None else parse_duration_s(duration)
    if lifetime_s is not None and duration is None:
        duration_s = max(duration_s, LIFETIMES_PER_RUN * lifetime_s)
    if lifetime_s is not None and duration_s < lifetime_s:
        raise InputError(
            f"--duration {duration_s:g}s is shorter than --token-lifetime {lifetime_s:g}s: no "
            f"token would expire; use --duration {LIFETIMES_PER_RUN * lifetime_s:g}s or more"
        )
    if not 1 <= duration_s <= MAX_DURATION_S:
        raise InputError(f"--duration {duration_s:g}s is impossible; use 1s to 7 days per strategy")
    if not 1 <= processes <= MAX_PROCESSES:
        raise InputError(f"--processes {processes} is impossible; use 1 to {MAX_PROCESSES}")
    if config is not None and not config.is_file():
        raise InputError(f"--config {config}: {_not_a_file(config)}")
    if gate is not None and not gate.is_file():
        raise InputError(f"--gate {gate}: {_not_a_file(gate)} (a thresholds TOML file)")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} exists and is not a directory")
    checked_target = None if target is None else check_target(target, allow_remote)
    if checked_target is not None and config is not None:
        raise InputError("--config configures the local mock server; it cannot apply to --target")
    if checked_target is not None and tls:
        raise InputError(
            "--tls serves the local mock server over HTTPS; for an https --target "
            "trust its CA with SSL_CERT_FILE instead"
        )
    master_settings = check_master(
        master,
        expect_workers,
        master_bind_host,
        master_bind_port,
        processes,
        chosen,
        allow_remote,
        tls,
    )
    return RunSettings(
        scenario=chosen,
        strategies=names,
        users=users_n,
        rate=rate_v,
        duration_s=duration_s,
        profile=chosen.profile if profile is None else profile,
        processes=processes,
        config=config,
        target=checked_target,
        out_dir=out_dir,
        gate=gate,
        master=master_settings,
        tls=tls,
        token_lifetime_s=lifetime_s,
        plan=None if plan is None else plan.strip(),
        simulate=simulate,
    )


def check_token_lifetime(text: str | None, target: str | None) -> float | None:
    """``--token-lifetime``: whole seconds the local mock's tokens live, 2 s to a day."""
    if text is None:
        return None
    if target is not None:
        raise InputError(
            "--token-lifetime configures the local mock server and cannot apply to --target "
            "(the run must know the lifetime its refreshes were measured at)"
        )
    match = _DURATION.match(text)
    seconds = -1.0 if match is None else float(match.group(1)) * _UNIT_S[match.group(2)]
    if not (seconds.is_integer() and MIN_TOKEN_LIFETIME_S <= seconds <= 86400):
        raise InputError(
            f"--token-lifetime {text!r} is impossible; use whole seconds from "
            f"{MIN_TOKEN_LIFETIME_S}s to 24h, e.g. 60s"
        )
    return seconds


def check_master(
    master: bool,
    expect_workers: int | None,
    bind_host: str | None,
    bind_port: int | None,
    processes: int,
    scenario: Scenario,
    allow_remote: bool = False,
    tls: bool = False,
) -> MasterSettings | None:
    """The master/worker options, consistent with each other and with the rest."""
    if not master:
        given = [
            name
            for name, value in (
                ("--expect-workers", expect_workers),
                ("--master-bind-host", bind_host),
                ("--master-bind-port", bind_port),
            )
            if value is not None
        ]
        if given:
            raise InputError(f"{given[0]} needs --master (workers connect to a master)")
        return None
    if processes != 1:
        raise InputError(
            "--processes and --master exclude each other: with --master the workers are "
            "started elsewhere (quotalab worker --master-host HOST)"
        )
    if tls:
        # The throwaway CA is trusted by this machine's processes only; a worker's
        # calls would all fail their certificate check.
        raise InputError(
            "--tls and --master exclude each other: the workers never receive the run's "
            "throwaway CA; serve HTTPS with quotalab serve --tls --tls-dir DIR and give "
            "--target, with SSL_CERT_FILE=DIR/ca.pem here and for every worker"
        )
    if scenario.shape != "constant":
        raise InputError(
            f"--scenario {scenario.name} has a load shape, which --master does not run; "
            "use steady, expiry-herd or twitter"
        )
    workers = 1 if expect_workers is None else expect_workers
    if not 1 <= workers <= MAX_WORKERS:
        raise InputError(f"--expect-workers {workers} is impossible; use 1 to {MAX_WORKERS}")
    port = 5557 if bind_port is None else bind_port
    if not 1 <= port <= 65535:
        raise InputError(f"--master-bind-port {port} is impossible; use 1 to 65535")
    host = "127.0.0.1" if bind_host is None else bind_host.strip()
    if not host:
        raise InputError("--master-bind-host is empty; use * (every interface) or an address")
    if not allow_remote and not is_loopback_host(host):
        raise InputError(
            f"--master-bind-host {host} listens beyond this machine: any host that reaches "
            "the port can join as a worker; add --allow-remote for workers on other machines"
        )
    return MasterSettings(expect_workers=workers, bind_host=host, bind_port=port)


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a file, in a few words."""
    return "is a directory, not a file" if path.is_dir() else "no such file"
