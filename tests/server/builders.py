"""Request builders shared by the server tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from quotalab.wire import HttpRequest

AUDIENCE = "https://api.quotalab.test/"
BASE_URL = "http://127.0.0.1:8000"


def auth0_token_request(
    client_id: str = "demo-client",
    secret: str = "demo-secret",
    audience: str | None = AUDIENCE,
    **extra: str,
) -> HttpRequest:
    """A JSON client-credentials request as the seed article's client sends it."""
    body: dict[str, str] = {
        "client_id": client_id,
        "client_secret": secret,
        "grant_type": "client_credentials",
    }
    if audience is not None:
        body["audience"] = audience
    body.update(extra)
    return HttpRequest(
        "POST",
        f"{BASE_URL}/oauth/token",
        (("content-type", "application/json"),),
        json.dumps(body).encode(),
    )


def jwt_header_json(token: str) -> bytes:
    """The JSON of a token's header as signed: its bytes show the key order."""
    segment = token.split(".", 1)[0]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def basic(user: str, secret: str) -> tuple[str, str]:
    raw = f"{user}:{secret}".encode()
    return ("authorization", "Basic " + base64.b64encode(raw).decode())


def twitter_token_request(key: str = "demo-key", secret: str = "demo-secret") -> HttpRequest:
    return HttpRequest(
        "POST",
        "/oauth2/token",
        (basic(key, secret), ("content-type", "application/x-www-form-urlencoded;charset=UTF-8")),
        b"grant_type=client_credentials",
    )


def bearer(token: str) -> tuple[str, str]:
    return ("authorization", f"Bearer {token}")


Message = dict[str, object]


async def asgi_exchange(
    app: Callable[..., Awaitable[None]],
    scope: Mapping[str, Any],
    messages: Sequence[Message],
) -> list[Message]:
    """Play ``messages`` into ``app`` as one request (a disconnect after them); what it sent."""
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(dict(scope), receive, send)
    return sent
