"""``/_admin/stats``, ``/_admin/reset`` and ``/_admin/faults``: the harness's own endpoints.

Any web page a user opens could otherwise reset or fault a mock running on
their machine, so a request is refused (403) when it comes from another site
(an ``Origin`` that is not this server, or a ``Host`` that is neither this
server nor loopback: DNS rebinding) or carries a body that is not JSON (HTML
forms cannot send JSON). With an admin token set, ``Authorization: Bearer
<token>`` is required as well.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from quotalab.errors import ConfigError, StoreUnavailable
from quotalab.wire import HttpResponse

if TYPE_CHECKING:
    from quotalab.server.mock_provider import MockProvider
    from quotalab.server.parsing import Incoming

_JSON = {"content-type": "application/json"}


def _json(status: int, document: Any) -> HttpResponse:
    return HttpResponse(status, dict(_JSON), json.dumps(document, separators=(",", ":")).encode())


def _error(status: int, description: str) -> HttpResponse:
    return _json(status, {"error": "invalid_request", "error_description": description})


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_port(netloc: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{netloc}")
        return (parts.hostname or "").lower(), parts.port or default_port
    except ValueError:
        return None


def _is_own(netloc: str, base_url: str, scheme: str = "http") -> bool:
    """Whether ``netloc`` names this server: its own address, or loopback on its port."""
    default_port = 443 if scheme == "https" else 80
    seen = _host_port(netloc, default_port)
    if seen is None:
        return False
    if not base_url:
        return seen[0] in LOOPBACK_NAMES
    own = urlsplit(base_url)
    own_pair = _host_port(own.netloc, 443 if own.scheme == "https" else 80)
    return seen == own_pair or (
        seen[0] in LOOPBACK_NAMES and own_pair is not None and seen[1] == own_pair[1]
    )


def _own_origin(origin: str, base_url: str) -> bool:
    """Whether an ``Origin`` value names this server (``null`` and malformed ones do not)."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and _is_own(parts.netloc, base_url, parts.scheme)


def refusal(provider: MockProvider, incoming: Incoming, origins: Sequence[str] = ()) -> str | None:
    """Why this admin request is refused, or ``None`` to serve it.

    ``origins`` are all the ``Origin`` values sent: one foreign value refuses.
    """
    if not origins and "origin" in incoming.headers:
        origins = (incoming.headers["origin"],)
    for origin in origins:
        if not _own_origin(origin, provider.base_url):
            return f"Cross-site admin request refused (Origin {origin!r} is not this server)"
    token = provider.admin_token
    if token:
        given = incoming.headers.get("authorization", "").strip()
        if not hmac.compare_digest(given.encode("latin-1"), f"Bearer {token}".encode()):
            return "Admin token required: send Authorization: Bearer <token>"
    elif incoming.host and not _is_own(incoming.host, provider.base_url):
        return f"Admin request refused: Host {incoming.host!r} is not this server"
    if incoming.method in ("POST", "PUT") and (incoming.body or "content-type" in incoming.headers):
        kind = incoming.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            return "Admin requests with a body must be application/json"
    return None


def handle(provider: MockProvider, incoming: Incoming, origins: Sequence[str] = ()) -> HttpResponse:
    """Route an admin request; 503 with ``Retry-After`` while the store is unreachable."""
    refused = refusal(provider, incoming, origins)
    if refused is not None:
        return _json(403, {"error": "access_denied", "error_description": refused})
    try:
        return _route(provider, incoming)
    except StoreUnavailable as error:
        document = {"error": "store_unavailable", "error_description": str(error)}
        body = json.dumps(document, separators=(",", ":")).encode()
        return HttpResponse(503, {**_JSON, "retry-after": "1"}, body)


def _route(provider: MockProvider, incoming: Incoming) -> HttpResponse:
    """Unknown admin paths answer 404, wrong methods 405."""
    path, method = incoming.path, incoming.method
    if path == "/_admin/stats":
        if method != "GET":
            return _error(405, "Use GET /_admin/stats")
        return _json(200, provider.stats())
    if path == "/_admin/reset":
        if method != "POST":
            return _error(405, "Use POST /_admin/reset")
        provider.reset()
        return _json(200, {"reset": True})
    if path == "/_admin/faults":
        if method == "GET":
            return _json(200, provider.faults_json())
        if method != "PUT":
            return _error(405, "Use GET or PUT /_admin/faults")
        try:
            document = json.loads(incoming.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _error(400, "Body must be a JSON object")
        try:
            provider.set_faults(document)
        except ConfigError as error:
            return _error(400, str(error))
        return _json(200, provider.faults_json())
    return _error(
        404, f"Unknown admin path {path}: use /_admin/stats, /_admin/reset, /_admin/faults"
    )
