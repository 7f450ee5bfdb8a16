"""``/_admin/stats``, ``/_admin/reset`` and ``/_admin/faults``: the harness's own endpoints."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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


def handle(provider: MockProvider, incoming: Incoming) -> HttpResponse:
    """Route an admin request; 503 with ``Retry-After`` while the store is unreachable."""
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
