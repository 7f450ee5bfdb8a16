"""HTTP messages as plain values, shared by the server core, strategies and drivers.

The mock provider's core takes an ``HttpRequest`` and returns an
``HttpResponse`` without any socket; the ASGI app, the httpx driver, locust
and the simulation only convert to and from these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request a strategy wants sent. ``url`` is absolute."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response handed back to a strategy. Header names are lower-case."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        return json_or_none(self.body)


def json_or_none(body: bytes) -> Any:
    """``body`` parsed as JSON, or ``None`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class TransportError:
    """The request never got an HTTP answer (refused, reset, timed out)."""

    reason: str


def is_bearer_token(text: str) -> bool:
    """Whether ``text`` can travel as ``Authorization: Bearer <text>``: visible ASCII,
    no spaces (what a header value carries unencoded)."""
    return all("!" <= ch <= "~" for ch in text)
