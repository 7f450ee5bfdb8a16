"""Time uvicorn's HTTP protocol with an ASGI app, in-process, with no socket at all.

The protocol object (parser, scope, ASGI task, response writing, timers) is
fed one request's bytes at a time on a real event loop; its transport only
counts writes. Set beside wrk's figures this says how much of a request is the
protocol's and how much the kernel's, and, run with uvicorn's own protocol and
with the one ``quotalab serve`` uses (its read deadline) around the same app,
what that protocol adds or saves per request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from bench.bare_app import ASGIApp


class _CountingTransport(asyncio.Transport):
    """Accepts every write and counts it: a client that reads instantly."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 request as wrk sends it (a Host header and a Content-Length)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1:8000"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _time_requests(
    protocol_class: type[asyncio.Protocol], app: ASGIApp, request: bytes, duration_s: float
) -> float:
    config = uvicorn.Config(
        app, http=protocol_class, log_level="warning", server_header=False, lifespan="off"
    )
    config.load()
    make: Callable[..., Any] = protocol_class
    protocol = make(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = _CountingTransport()
    protocol.connection_made(transport)

    async def answer(count: int) -> None:
        for _ in range(count):
            answered = transport.writes + 2  # the head, then the body
            protocol.data_received(request)
            while transport.writes < answered:
                await asyncio.sleep(0)  # lets the request's ASGI task run
            if transport.closing:
                raise RuntimeError("the protocol closed the connection")

    await answer(2000)  # warm up
    best = float("inf")
    deadline = time.perf_counter() + duration_s
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        await answer(2000)
        best = min(best, (time.perf_counter() - start) / 2000)
    protocol.connection_lost(None)
    return best


def protocol_seconds_per_request(
    protocol_class: type[asyncio.Protocol],
    app: ASGIApp,
    request: bytes,
    *,
    loop: str = "asyncio",
    duration_s: float = 1.0,
) -> float:
    """Seconds one request takes through ``protocol_class`` and ``app`` on ``loop``
    (``asyncio`` or ``uvloop``): the best batch of 2,000 over about ``duration_s``."""
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_time_requests(protocol_class, app, request, duration_s))
