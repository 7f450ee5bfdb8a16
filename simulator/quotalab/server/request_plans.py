"""What a request is, read once from its bytes: the plan ``MockProvider.answer`` follows.

Reading a request (URL, headers, form or JSON body, HTTP Basic credentials,
the counted client id and the limiter's request key) depends on nothing but
its bytes and the profile, so equal requests have equal plans. Load tests
repeat identical requests, so an adapter may keep plans by the request's
exact bytes (``PlanMemo``) and skip the reading; everything that depends on
time or state (faults, limits, counts, secret checks, signing) happens in
``answer``, on every request.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from quotalab.profiles.profile_model import EndpointSpec
from quotalab.server.parsing import Incoming
from quotalab.wire import HttpRequest

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class TokenAsk:
    """A token request as read, before admission: who it counts for and what it presents."""

    endpoint: EndpointSpec
    incoming: Incoming
    fields: Mapping[str, str] | str
    """The body's fields, or a sentence saying why they could not be read."""
    client_id: str
    """As presented (Basic or body), ``""`` when absent."""
    secret: str | None
    """As presented; ``None`` when the client sent none (the flows tell the two apart)."""
    auth_method: str
    """``client_secret_basic`` or ``client_secret_post``."""
    who: str
    """The name counts and limits are kept under (``MockProvider.counted_id``)."""
    request_key: str
    """What the token asks for, the limiter's ``request`` key part (``""`` if unused)."""


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """A request read against the profile: its route, and for token endpoints its ask."""

    request: HttpRequest
    incoming: Incoming
    endpoint: EndpointSpec | None
    """``None`` for ``/_admin/*`` and for paths or methods the profile does not serve."""
    oversized: bool
    """The body, or the length it announces, exceeds ``max_body_bytes`` (answered 413)."""
    ask: TokenAsk | None
    """Set for every token endpoint's request that is not oversized."""


class PlanMemo(dict[_K, _V]):
    """At most ``max_entries`` values by exact key; full, it starts over (O(1), no LRU upkeep).

    A ``dict`` (lookups are its ``get``, in C: they sit on every request's
    path) whose one writer is ``put``. Keys must hold everything the value
    depends on: for a request plan, its method, URL, every header
    (credentials included) and its body.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        super().__init__()
        self.max_entries = max_entries

    def put(self, key: _K, value: _V) -> _V:
        """Keep ``value`` for ``key`` (forgetting everything first when full); return it."""
        if len(self) >= self.max_entries and key not in self:
            self.clear()
        self[key] = value
        return value
