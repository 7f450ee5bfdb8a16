"""The ``quotalab_server`` pytest fixture: the mock provider inside your own test suite.

Installed as a ``pytest11`` plugin, so ``pip install quotalab`` makes the
fixture available everywhere. The provider runs on a ``VirtualClock``:

- httpx clients talk to it in-process through ``server.transport``;
- anything else (requests, urllib, another process) uses ``server.live_url``,
  a real server on a loopback port started on first use (HTTPS with
  ``@pytest.mark.quotalab(tls=True)``: trust ``server.ca_file``);
- ``server.advance(s)`` moves time, ``server.storm(s)`` answers the token
  endpoint with the profile's own throttle response for ``s`` seconds,
  ``server.set_faults(...)`` injects 503s, latency or clock skew; all of it
  reaches both routes alike (one provider, one path);
- ``server.client_stats(client_id)`` reads the provider's per-client counts.

See docs/simulation.md for a complete example.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from quotalab.testing import QuotalabServer

# Loaded into every pytest run of every project that installs quotalab: nothing
# heavy (uvicorn, PyJWT, cryptography, locust, redis) is imported until a test
# asks for the fixture.


@pytest.fixture
def quotalab_server(request: pytest.FixtureRequest) -> Iterator[QuotalabServer]:
    """The mock provider (Auth0 unless ``@pytest.mark.quotalab(profile=..., tls=...)``).

    Every ``quotalab`` marker counts, the module's and the class's too, the closest
    winning for each setting; the profile may be given by position. A marker that
    ``QuotalabServer`` cannot take is an error, never a silent Auth0 server.
    """
    from quotalab.testing import QuotalabServer

    signature = inspect.signature(QuotalabServer)
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("quotalab"))):  # farthest first
        try:
            bound = signature.bind_partial(*marker.args, **marker.kwargs)
        except TypeError as error:
            raise TypeError(
                f"@pytest.mark.quotalab{_shown(marker.args, marker.kwargs)}: {error}; "
                "it takes profile, config_path and tls"
            ) from None
        options.update(bound.arguments)
    server = QuotalabServer(**options)
    try:
        yield server
    finally:
        server.close()


def _shown(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return "(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``quotalab`` marker so ``--strict-markers`` suites accept it."""
    config.addinivalue_line(
        "markers",
        "quotalab(profile='auth0', config_path=None, tls=False): quotalab_server settings",
    )
