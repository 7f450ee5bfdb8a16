"""The token policy and the shared token cache with its single-flight flag.

One ``TokenCache`` is shared by every concurrent caller of one client (threads,
asyncio tasks, greenlets). ``begin_refresh`` is an atomic claim: exactly one
caller fetches while the others wait (``AwaitRefresh``) for it to finish.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from quotalab.errors import InputError, StrategyError
from quotalab.strategies.client_settings import Token


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """When to fetch a token.

    ``cache=False`` fetches a token for every API call. Otherwise a token is
    reused until ``expires_at - margin_s`` (the margin is cut to half the
    token's lifetime when the lifetime is shorter than twice the margin), or
    forever when the provider gave no lifetime (Twitter). ``single_flight``
    makes concurrent callers share one fetch. ``refetch_on_invalid``: on an API
    401 ``invalid_token`` / Twitter code 89, drop the token, fetch once more and
    retry the call once.
    """

    cache: bool = True
    margin_s: float = 300.0
    single_flight: bool = True
    refetch_on_invalid: bool = True

    def __post_init__(self) -> None:
        if self.margin_s < 0:
            raise InputError(f"margin_s must be >= 0, got {self.margin_s}")


class TokenCache:
    """The cached token of one client, shared by all its concurrent calls."""

    __slots__ = ("_claim", "_refreshing", "_token", "failure", "fetches", "generation")

    def __init__(self) -> None:
        self._token: Token | None = None
        self._claim = threading.Lock()
        self._refreshing = False
        self.generation = 0  # bumped when a refresh ends, won or lost
        self.failure: StrategyError | None = None  # why the last refresh gave up
        self.fetches = 0  # token responses stored: handy for tests and reports

    @property
    def refreshing(self) -> bool:
        """True while one caller is fetching a token for everyone."""
        return self._refreshing

    def valid(self, now: float, margin_s: float) -> str | None:
        """The cached access token if it is still good at ``now``, else None."""
        token = self._token
        if token is None:
            return None
        if token.expires_at is None or token.lifetime_s is None:
            return token.access_token
        margin = min(margin_s, token.lifetime_s / 2)
        return token.access_token if now < token.expires_at - margin else None

    def store(self, token: Token) -> None:
        self._token = token
        self.fetches += 1

    def invalidate(self, access_token: str) -> None:
        """Drop ``access_token`` unless another caller already replaced it."""
        token = self._token
        if token is not None and token.access_token == access_token:
            self._token = None

    def begin_refresh(self) -> bool:
        """Claim the refresh; False when another caller holds it."""
        with self._claim:
            if self._refreshing:
                return False
            self._refreshing = True
            return True

    def end_refresh(self, failure: StrategyError | None) -> None:
        """Release the claim; ``failure`` tells the waiters why it gave up."""
        with self._claim:
            self.failure = failure
            self.generation += 1
            self._refreshing = False
