"""The two ways to bring your own client, and ``load_strategy`` for ``--strategies``.

(a) **A sans-I/O strategy**: an object with ``name`` and ``call(request) -> Flow``
    (``quotalab.strategies.messages.Strategy``). quotalab drives it, so it runs
    under httpx, locust and the virtual-time simulation alike.
(b) **An own client** (``OwnClient``): code that does its own HTTP, e.g. your
    production client wrapped in ``call_api(path) -> status`` (blocking, or
    ``async def``: ``quotalab.locust.async_calls`` awaits it). Only
    real-time runs can drive it; the server counts its requests, quotalab its
    calls (raised ones included: docs/strategies.md).

Either way the user provides a factory ``factory(settings, *, clock, rng)``
and names it on the command line as ``--strategies package.module:factory``.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from quotalab.clock import Clock
from quotalab.errors import InputError
from quotalab.strategies.client_settings import ClientSettings
from quotalab.strategies.messages import Strategy
from quotalab.strategies.registry import NAMES, make_strategy


@runtime_checkable
class OwnClient(Protocol):
    """A client that does its own I/O; quotalab only calls it and counts."""

    name: str

    def call_api(self, path: str) -> int:
        """Call ``settings.api_base_url + path`` (fetching tokens as it sees fit); the status.

        It may raise whatever the client raises: the call then counts as failed,
        by exception type, and as throttled when the exception carries a 429 or
        Twitter's 403 code 99 (``quotalab.strategies.raised_calls``).
        """
        ...


StrategyFactory = Callable[..., Strategy | OwnClient]


def _builtin(name: str) -> StrategyFactory:
    def factory(
        settings: ClientSettings, *, clock: Clock, rng: random.Random
    ) -> Strategy | OwnClient:
        return make_strategy(name, settings, clock=clock, rng=rng)

    return factory


def import_from_cwd(module_name: str) -> object:
    """Import ``module_name`` with the working directory first on ``sys.path``.

    As pytest and locust do: ``--strategies my_module:factory`` run from the
    folder holding ``my_module.py`` finds it without ``PYTHONPATH``.
    """
    cwd = os.getcwd()
    if sys.path[:1] not in ([""], [cwd]):
        if cwd in sys.path:
            sys.path.remove(cwd)
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()
    return importlib.import_module(module_name)


def load_strategy(spec: str) -> StrategyFactory:
    """The factory for a built-in name or a ``package.module:factory`` spec.

    A module that cannot be imported (missing, a syntax error, raising at
    import) is an ``InputError`` naming the spec and the cause in one line.
    """
    spec = spec.strip()
    if spec in NAMES:
        return _builtin(spec)
    if ":" not in spec:
        raise InputError(
            f"--strategies {spec!r} is neither a built-in ({', '.join(NAMES)}) "
            "nor 'package.module:factory'"
        )
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InputError(f"--strategies {spec!r}: expected 'package.module:factory'")
    try:
        module = import_from_cwd(module_name)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # ImportError, SyntaxError, sys.exit(): whatever it raises
        raise InputError(
            f"--strategies {spec!r}: cannot import {module_name!r} ({cause(error)})"
        ) from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise InputError(f"--strategies {spec!r}: module {module_name!r} has no {attr!r}")
    if not callable(factory):
        raise InputError(f"--strategies {spec!r}: {attr!r} is not callable")
    return factory  # type: ignore[no-any-return]


def cause(error: BaseException) -> str:
    """``Type: first line of message``, safe for one line whatever the exception does."""
    try:
        lines = str(error).strip().splitlines()
    except Exception:
        lines = []
    text = lines[0] if lines else ""
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def strategy_name(strategy: object) -> str:
    """``strategy.name``, or its type's name when reading it fails or gives no string."""
    try:
        name = getattr(strategy, "name", None)
    except Exception:
        name = None
    return name if isinstance(name, str) else type(strategy).__name__


def build_strategy(
    spec: str, settings: ClientSettings, *, clock: Clock, rng: random.Random
) -> Strategy | OwnClient:
    """Load ``spec`` and call its factory, checking it returned one of the two protocols.

    A factory that raises, or returns anything else, is an ``InputError``.
    """
    factory = load_strategy(spec)
    try:
        client = factory(settings, clock=clock, rng=rng)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # sys.exit() included: the run cannot go on without it
        raise InputError(
            f"--strategies {spec!r}: the factory failed ({cause(error)}); it is called as "
            "factory(settings, *, clock, rng)"
        ) from None
    if isinstance(client, OwnClient):
        return client
    if callable(getattr(client, "call", None)) and isinstance(getattr(client, "name", None), str):
        return client
    raise InputError(
        f"--strategies {spec!r}: the factory returned {type(client).__name__}, which has "
        "neither name and call(request) -> flow (Strategy) nor name and call_api(path) -> int "
        "(OwnClient)"
    )
