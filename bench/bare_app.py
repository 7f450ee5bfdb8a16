"""The bare baseline: a raw ASGI app that answers every request with one fixed response.

It does nothing a mock server could skip (it still reads the request body), so the
ratio quotalab/bare says how much the mock's own work costs on the same server. The
response comes from the environment so uvicorn worker processes all serve the same
bytes: ``QUOTALAB_BENCH_RESPONSE`` holds ``{"status": 429, "headers": [[k, v], ...],
"body": "..."}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RESPONSE_ENV = "QUOTALAB_BENCH_RESPONSE"


def fixed_response_app(status: int, headers: list[tuple[str, str]], body: bytes) -> ASGIApp:
    """An ASGI app that drains each request and answers ``status``/``headers``/``body``."""
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw_headers = [h for h in raw_headers if h[0] != b"content-length"]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    start = {"type": "http.response.start", "status": status, "headers": raw_headers}
    payload = {"type": "http.response.body", "body": body}

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
        await send(start)
        await send(payload)

    return app


def create_app() -> ASGIApp:
    """uvicorn ``--factory`` entry point: builds the app from ``QUOTALAB_BENCH_RESPONSE``."""
    spec = json.loads(os.environ[RESPONSE_ENV])
    headers = [(str(k), str(v)) for k, v in spec["headers"]]
    return fixed_response_app(int(spec["status"]), headers, spec["body"].encode())
