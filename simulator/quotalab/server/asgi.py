"""A thin ASGI adapter around ``MockProvider``.

Plain ASGI, no framework: the 429 reject path is benchmarked against a bare
ASGI app, so each request is one body read (capped), one core call and two
sends. Injected latency is awaited here, never in the core.

Load tests send the same bytes again and again, so the adapter keeps what
reading them gave: the decoded request line and headers by their raw bytes
(the request before is compared first: equal bytes need no hashing), and the
provider's ``RequestPlan`` by those and the body (both bounded, see
``PlanMemo``). A request is decoded and read once; every request is answered
(``MockProvider.answer``: faults, limits, counts, secrets) on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from quotalab.errors import StoreUnavailable
from quotalab.server.metrics import CONTENT_TYPE, ProviderMetrics
from quotalab.server.mock_provider import MockProvider
from quotalab.server.parsing import declared_length
from quotalab.server.request_plans import PlanMemo, RequestPlan
from quotalab.server.store_handoff import READ_WITHIN_S, StoreHandOff, store_blocks
from quotalab.wire import HttpRequest, HttpResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def _rest_of_body(message: Message, receive: Receive, cap: int) -> bytes:
    """The body that ``message`` starts and more messages go on with, stopping once it
    is longer than ``cap`` (the core answers 413)."""
    chunks: list[bytes] = []
    size = 0
    while True:
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
        message = await receive()
    return b"".join(chunks)


_HEADS_MAX = 512
_PLANS_MAX = 2048
_MEMO_HEAD_BYTES = 4096
"""Requests whose headers together are longer are read every time, never kept."""
_MEMO_BODY_BYTES = 2048
"""Likewise for bodies: a token request's body is a few hundred bytes."""

RawHeaders = tuple[tuple[bytes, bytes], ...]
HeadKey = tuple[str, str, bytes, RawHeaders]


@dataclass(slots=True, eq=False)
class _RequestHead:
    """A request line and headers, decoded once: everything of ``HttpRequest`` but the body.

    Compared and hashed by identity (``eq=False``): a kept head stands for its
    raw bytes, so plans are keyed on ``(head, body)`` without hashing headers again.
    Only ``last_body`` and ``last_plan`` ever change.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    announces_oversize: bool
    """A ``content-length`` over the cap: answered 413 without waiting for the body."""
    kept: bool
    """Kept in ``ProviderApp.heads``: its plans may be kept too."""
    last_body: bytes | None = None
    """The body of the last request with this head whose plan was kept, and that plan:
    a client sends the same request again and again, so its plan is found by one
    comparison of bytes, without hashing the body."""
    last_plan: RequestPlan | None = None


class ProviderApp:
    """The ASGI application serving one provider plus ``GET /metrics``."""

    def __init__(self, provider: MockProvider) -> None:
        self.provider = provider
        self.metrics = ProviderMetrics(provider)
        self._sent = self.metrics.responses_by_status
        self._cap = provider.settings.max_body_bytes
        # Redis calls run on threads under a deadline; memory is called inline.
        self._handoff = StoreHandOff(provider) if store_blocks(provider) else None
        self._raw: dict[int, tuple[HttpResponse, RawHeaders]] = {}
        self.heads: PlanMemo[HeadKey, _RequestHead] = PlanMemo(_HEADS_MAX)
        self.plans: PlanMemo[tuple[_RequestHead, bytes], RequestPlan] = PlanMemo(_PLANS_MAX)
        # The last kept head with its raw headers (a copy): a load repeats one request.
        self._last_head: tuple[list[Any], str, str, bytes, _RequestHead] = (
            [None],  # equal to no request's headers
            "",
            "",
            b"",
            _RequestHead("", "", (), announces_oversize=False, kept=False),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self._lifespan(receive, send)
            elif kind == "websocket":
                # No WebSocket endpoint here: refuse the handshake (the server answers 403).
                await send({"type": "websocket.close", "code": 1008})
            return
        method: str = scope["method"]
        # HEAD is answered as GET is, headers and all, without the body (RFC 9110 9.3.2):
        # a provider's keys, discovery and API answer it so.
        head_only = method == "HEAD"
        if head_only:
            method = "GET"
        # Routed as sent, as a provider routes it: the decoded ``path`` would let
        # ``/oauth/token%3Fx=1`` or ``/.well-known%2Fjwks.json`` reach an endpoint.
        raw_path: bytes | None = scope.get("raw_path")
        path: str = raw_path.partition(b"?")[0].decode("latin-1") if raw_path else scope["path"]
        if path == "/metrics" and method == "GET":
            await self._send_metrics(send, head_only)
            return
        query: bytes = scope.get("query_string", b"")
        raw = scope["headers"]
        last = self._last_head
        if raw == last[0] and path == last[1] and method == last[2] and query == last[3]:
            head = last[4]  # the same head as the request before: compared, not hashed
        else:
            key: HeadKey | None = None
            kept: _RequestHead | None = None
            try:
                key = (method, path, query, tuple(raw))
                kept = self.heads.get(key)
            except TypeError:  # headers given as lists: fine for ASGI, but not hashable
                key = None
            head = kept if kept is not None else self._read_head(method, path, query, raw, key)
            if head.kept:
                self._last_head = (list(raw), path, method, query, head)
        # An announced body over the cap is answered 413 at once, without waiting for it.
        body: bytes = b""
        if not head.announces_oversize:
            message = await receive()
            if message.get("more_body", False):
                body = await _rest_of_body(message, receive, self._cap)
            elif message["type"] == "http.request":  # the whole body at once: the usual case
                body = message.get("body", b"")
        if not head.kept:
            plan = self.provider.read(HttpRequest(head.method, head.url, head.headers, body))
        elif head.last_body == body and head.last_plan is not None:
            plan = head.last_plan
        else:
            plan = self._plan(head, body)
        if self._handoff is None:
            outcome = self.provider.answer(plan)
        else:
            outcome = await self._handoff.answer(plan)
        if outcome.latency_s > 0:
            await asyncio.sleep(outcome.latency_s)
        response = outcome.response
        status = response.status
        sent = self._sent  # ``ProviderMetrics.observe``, inline
        sent[status] = sent.get(status, 0) + 1
        entry = self._raw.get(id(response))
        if entry is None or entry[0] is not response:
            entry = self._encode(response)
        # A tuple (ASGI asks for an iterable): shared by every answer, changed by none.
        await send({"type": "http.response.start", "status": status, "headers": entry[1]})
        await send({"type": "http.response.body", "body": b"" if head_only else response.body})

    def _read_head(
        self, method: str, path: str, query: bytes, raw: Any, key: HeadKey | None
    ) -> _RequestHead:
        """Decode a request's head; kept by ``key`` (so its plans may be too) unless too long."""
        url = f"{path}?{query.decode('latin-1')}" if query else path
        headers = tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw])
        length = ""  # the last content-length, as a dict of the headers would keep it
        for name, value in headers:
            if len(name) == 14 and name.lower() == "content-length":
                length = value
        declared = declared_length({"content-length": length}) if length else None
        kept = key is not None and sum(len(k) + len(v) for k, v in raw) <= _MEMO_HEAD_BYTES
        head = _RequestHead(method, url, headers, (declared or 0) > self._cap, kept)
        if key is not None and kept:
            self.heads.put(key, head)
        return head

    def _plan(self, head: _RequestHead, body: bytes) -> RequestPlan:
        """The plan of a kept head and ``body``, from the memo or read and kept (bodies
        up to ``_MEMO_BODY_BYTES``); it becomes the head's last plan."""
        plan = self.plans.get((head, body))
        if plan is None:
            plan = self.provider.read(HttpRequest(head.method, head.url, head.headers, body))
            if len(body) > _MEMO_BODY_BYTES:
                return plan
            self.plans.put((head, body), plan)
        head.last_body, head.last_plan = body, plan
        return plan

    def _encode(self, response: HttpResponse) -> tuple[HttpResponse, RawHeaders]:
        """The response's headers as ASGI wants them, with its length, kept by its id so
        that shared responses encode once."""
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        raw.append((b"content-length", str(len(response.body)).encode("ascii")))
        if len(self._raw) >= 1024:
            self._raw.clear()
        entry = self._raw[id(response)] = (response, tuple(raw))  # keeps the id its own
        return entry

    async def _send_metrics(self, send: Send, head_only: bool) -> None:
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
            await self._send(send, 503, headers, b"store unavailable\n", head_only)
            return
        await self._send(send, 200, [(b"content-type", CONTENT_TYPE.encode())], text, head_only)

    @staticmethod
    async def _send(
        send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head_only: bool
    ) -> None:
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head_only else body})

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
