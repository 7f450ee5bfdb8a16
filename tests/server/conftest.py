"""Fixtures for the mock provider: a provider on a virtual clock and request builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from quotalab.clock import VirtualClock
from quotalab.counters import MemoryCounters
from quotalab.limits import MemoryStore
from quotalab.profiles import load_config
from quotalab.server import MockProvider
from quotalab.server.keys import SigningKeys
from server.builders import BASE_URL

_KEYS: dict[str, SigningKeys] = {}

MakeProvider = Callable[..., MockProvider]


class FakeMonotonic:
    """A ``time.monotonic`` stand-in: tests end a cooldown or an idle time by moving it."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def shared_keys(algorithm: str = "RS256") -> SigningKeys:
    """RSA key generation is slow: one key pair for the whole test session."""
    if algorithm not in _KEYS:
        _KEYS[algorithm] = SigningKeys(algorithm)
    return _KEYS[algorithm]


@pytest.fixture
def make_provider(clock: VirtualClock, tmp_path: Path) -> MakeProvider:
    """Build a provider for a profile, optionally overridden by TOML text."""

    def build(profile: str = "auth0", toml: str = "", **kwargs: object) -> MockProvider:
        path = None
        if toml:
            path = tmp_path / "override.toml"
            path.write_text(toml)
        config = load_config(profile, path)
        return MockProvider(
            config,
            clock,
            MemoryStore(),
            MemoryCounters(),
            keys=shared_keys(config.settings.token_signing),
            base_url=BASE_URL,
        )

    return build
