"""quotalab: load tests and rate-limit simulation for OAuth client-credentials token traffic.

The names below are the public face; everything else may move without notice.

- Measure a client: ``StrategyAuth`` (an ``httpx.Auth``) runs a strategy made
  by ``make_strategy`` from ``ClientSettings``, ``TokenPolicy`` and
  ``RetryPolicy``.
- Write a strategy: implement ``Strategy`` (``call`` returns a ``Flow``, a
  generator that yields ``Send``,
  ``Sleep`` and ``AwaitRefresh`` actions and receives ``HttpResponse`` or
  ``TransportError`` replies), or wrap a blocking client as an ``OwnClient``.
- Simulate: ``run_strategy(SimSettings(...), "cached")`` plays virtual time.
- Test: ``QuotalabServer`` is the mock provider behind the ``quotalab_server``
  pytest fixture.
- Errors: every error quotalab reports derives from ``QuotalabError``.

Names are imported on first use, so ``import quotalab`` (and the pytest plugin
that every pytest run loads) stays light.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # ``typing`` is not imported: the command's first instants stay short
if TYPE_CHECKING:
    from typing import Any

    from quotalab.clock import Clock, VirtualClock
    from quotalab.drivers.httpx_auth import StrategyAuth
    from quotalab.errors import QuotalabError, StrategyError
    from quotalab.sim.scenario import SimSettings, run_strategy
    from quotalab.strategies.backoff import RetryPolicy
    from quotalab.strategies.client import ClientStrategy
    from quotalab.strategies.client_settings import ClientSettings
    from quotalab.strategies.messages import AwaitRefresh, Flow, Send, Sleep, Strategy
    from quotalab.strategies.own_client import OwnClient
    from quotalab.strategies.registry import make_strategy
    from quotalab.strategies.token_cache import TokenPolicy
    from quotalab.testing import QuotalabServer
    from quotalab.wire import HttpRequest, HttpResponse, TransportError

_HOMES = {
    "AwaitRefresh": "quotalab.strategies.messages",
    "ClientSettings": "quotalab.strategies.client_settings",
    "ClientStrategy": "quotalab.strategies.client",
    "Clock": "quotalab.clock",
    "Flow": "quotalab.strategies.messages",
    "HttpRequest": "quotalab.wire",
    "HttpResponse": "quotalab.wire",
    "OwnClient": "quotalab.strategies.own_client",
    "QuotalabError": "quotalab.errors",
    "QuotalabServer": "quotalab.testing",
    "RetryPolicy": "quotalab.strategies.backoff",
    "Send": "quotalab.strategies.messages",
    "SimSettings": "quotalab.sim.scenario",
    "Sleep": "quotalab.strategies.messages",
    "Strategy": "quotalab.strategies.messages",
    "StrategyAuth": "quotalab.drivers.httpx_auth",
    "StrategyError": "quotalab.errors",
    "TokenPolicy": "quotalab.strategies.token_cache",
    "TransportError": "quotalab.wire",
    "VirtualClock": "quotalab.clock",
    "make_strategy": "quotalab.strategies.registry",
    "run_strategy": "quotalab.sim.scenario",
}

__all__ = [
    "AwaitRefresh",
    "ClientSettings",
    "ClientStrategy",
    "Clock",
    "Flow",
    "HttpRequest",
    "HttpResponse",
    "OwnClient",
    "QuotalabError",
    "QuotalabServer",
    "RetryPolicy",
    "Send",
    "SimSettings",
    "Sleep",
    "Strategy",
    "StrategyAuth",
    "StrategyError",
    "TokenPolicy",
    "TransportError",
    "VirtualClock",
    "__version__",
    "make_strategy",
    "run_strategy",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quotalab")
    except PackageNotFoundError:  # pragma: no cover - only when run from an unpacked tree
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """Import a public name from its home module on first use."""
    if name == "__version__":
        value = globals()[name] = _version()
        return value
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'quotalab' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
