"""The bare baseline: a raw ASGI app that answers each route with one fixed response.

It does nothing a mock server could skip (it still reads the request body), so the
ratio quotalab/bare says how much the mock's own work costs on the same server.
The responses come from the environment so uvicorn worker processes all serve the
same bytes. ``QUOTALAB_BENCH_RESPONSE`` holds one response for every request,
``{"status": 429, "headers": [[k, v], ...], "body": "..."}``, or a replay table
``{"routes": {"POST /oauth/token": {...}, "GET /api/data": {...}}}`` whose
responses were captured from quotalab (other routes get a 404).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RESPONSE_ENV = "QUOTALAB_BENCH_RESPONSE"
_NOT_FOUND = {"status": 404, "headers": [["content-type", "text/plain"]], "body": "Not Found"}


def _messages(status: int, headers: list[tuple[str, str]], body: bytes) -> tuple[Message, Message]:
    """The two ASGI send events of a response, built once."""
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw_headers = [h for h in raw_headers if h[0] != b"content-length"]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    start = {"type": "http.response.start", "status": status, "headers": raw_headers}
    return start, {"type": "http.response.body", "body": body}


def _from_spec(spec: Mapping[str, Any]) -> tuple[Message, Message]:
    headers = [(str(k), str(v)) for k, v in spec["headers"]]
    return _messages(int(spec["status"]), headers, str(spec["body"]).encode())


def routed_app(
    routes: Mapping[tuple[str, str], tuple[Message, Message]], default: tuple[Message, Message]
) -> ASGIApp:
    """An ASGI app that drains each request and answers ``routes[(method, path)]``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more_body = True
        while more_body:
            message = await receive()
            more_body = message.get("more_body", False)
        start, body = routes.get((scope["method"], scope["path"]), default)
        await send(start)
        await send(body)

    return app


def fixed_response_app(status: int, headers: list[tuple[str, str]], body: bytes) -> ASGIApp:
    """An ASGI app that drains each request and answers ``status``/``headers``/``body``."""
    return routed_app({}, _messages(status, headers, body))


def create_app() -> ASGIApp:
    """uvicorn ``--factory`` entry point: builds the app from ``QUOTALAB_BENCH_RESPONSE``."""
    spec = json.loads(os.environ[RESPONSE_ENV])
    if "routes" not in spec:
        return routed_app({}, _from_spec(spec))
    routes = {}
    for route, response in spec["routes"].items():
        method, _, path = str(route).partition(" ")
        routes[(method, path)] = _from_spec(response)
    return routed_app(routes, _from_spec(_NOT_FOUND))
