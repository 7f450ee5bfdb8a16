"""A thin ASGI adapter around ``MockProvider``.

Plain ASGI, no framework: the 429 reject path is benchmarked against a bare
ASGI app, so each request is one body read (capped), one core call and two
sends. Injected latency is awaited here, never in the core.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from quotalab.errors import StoreUnavailable
from quotalab.server.metrics import CONTENT_TYPE, ProviderMetrics
from quotalab.server.mock_provider import MockProvider
from quotalab.server.parsing import declared_length
from quotalab.server.store_handoff import READ_WITHIN_S, StoreHandOff, store_blocks
from quotalab.wire import HttpRequest, HttpResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def _read_body(receive: Receive, cap: int) -> bytes:
    """The request body, stopping once it is longer than ``cap`` (the core answers 413)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                break
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class ProviderApp:
    """The ASGI application serving one provider plus ``GET /metrics``."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        self.metrics = ProviderMetrics(provider)
        self._cap = provider.settings.max_body_bytes
        # Redis calls run on threads under a deadline; memory is called inline.
        self._handoff = StoreHandOff(provider) if store_blocks(provider) else None
        self._raw: dict[int, tuple[HttpResponse, list[tuple[bytes, bytes]]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind == "websocket":
            # No WebSocket endpoint here: refuse the handshake (the server answers 403).
            await send({"type": "websocket.close", "code": 1008})
            return
        if kind != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        if path == "/metrics" and method == "GET":
            await self._send_metrics(send)
            return
        query: bytes = scope.get("query_string", b"")
        url = f"{path}?{query.decode('latin-1')}" if query else path
        headers = tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        length = ""  # the last content-length, as a dict of the headers would keep it
        for name, value in headers:
            if len(name) == 14 and name.lower() == "content-length":
                length = value
        declared = declared_length({"content-length": length}) if length else None
        # An announced body over the cap is answered 413 at once, without waiting for it.
        body = b"" if (declared or 0) > self._cap else await _read_body(receive, self._cap)
        request = HttpRequest(method, url, headers, body)
        if self._handoff is None:
            outcome = self.provider.respond(request)
        else:
            outcome = await self._handoff.respond(request)
        if outcome.latency_s > 0:
            await asyncio.sleep(outcome.latency_s)
        response = outcome.response
        self.metrics.observe(response.status)
        await self._send(send, response.status, self._raw_headers(response), response.body)

    def _raw_headers(self, response: HttpResponse) -> list[tuple[bytes, bytes]]:
        """The response's headers as ASGI wants them; shared responses encode once."""
        entry = self._raw.get(id(response))
        if entry is None or entry[0] is not response:
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
            if len(self._raw) >= 1024:
                self._raw.clear()
            entry = self._raw[id(response)] = (response, raw)  # keeps the id its own
        return list(entry[1])

    async def _send_metrics(self, send: Send) -> None:
        text: bytes | None
        try:
            if self._handoff is None:
                # On a thread: a long scrape must not hold up token requests.
                text = await asyncio.to_thread(self.metrics.render)
            else:
                text = await self._handoff.call(self.metrics.render, READ_WITHIN_S)
        except StoreUnavailable:
            text = None
        if text is None:
            headers = [(b"content-type", b"text/plain"), (b"retry-after", b"1")]
            await self._send(send, 503, headers, b"store unavailable\n")
            return
        await self._send(send, 200, [(b"content-type", CONTENT_TYPE.encode())], text)

    @staticmethod
    async def _send(
        send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(provider: MockProvider) -> ProviderApp:
    """The ASGI app for ``provider``."""
    return ProviderApp(provider)
