"""Time an ASGI app called directly, with no HTTP server: the app's own cost per request.

Set beside a wrk figure this splits a request's time into the HTTP server's share
(parsing, event loop, socket writes) and the app's, which is what explains a ratio.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

from bench.bare_app import ASGIApp


def http_scope(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """An ASGI HTTP scope like uvicorn builds for a loopback request."""
    raw = [(b"host", b"127.0.0.1:8000")]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _time_calls(app: ASGIApp, scope: dict[str, Any], body: bytes, duration_s: float) -> float:
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def receive() -> MutableMapping[str, Any]:
        return message

    async def send(event: MutableMapping[str, Any]) -> None:
        if event["type"] == "http.response.start":
            statuses.append(event["status"])

    for _ in range(200):  # warm up
        await app(scope, receive, send)
    best = float("inf")
    deadline = time.perf_counter() + duration_s
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(200):
            await app(scope, receive, send)
        best = min(best, (time.perf_counter() - start) / 200)
    return best


def app_seconds_per_request(
    app: ASGIApp, scope: dict[str, Any], body: bytes, duration_s: float = 1.0
) -> float:
    """Seconds one call of ``app`` takes: the best batch of 200 over about ``duration_s``.

    The best batch, as ``timeit`` advises: noise only ever adds time.
    """
    return asyncio.run(_time_calls(app, scope, body, duration_s))
