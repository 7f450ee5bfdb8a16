"""A WebSocket upgrade request gets a plain answer, never a 500."""

from __future__ import annotations

import socket

import httpx
import pytest

from quotalab.server.asgi import create_app
from quotalab.server.runner import serve_in_thread
from server.conftest import MakeProvider

UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
)


def _status_line(base_url: str, path: str) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    request = UPGRADE.format(path=path, host=f"{host}:{port}").encode()
    with socket.create_connection((host, int(port)), timeout=5.0) as raw:
        raw.sendall(request)
        return raw.recv(4096).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("path", ["/", "/oauth/token", "/_admin/stats", "/metrics"])
def test_an_upgrade_request_on_the_wire_is_answered_as_plain_http(
    make_provider: MakeProvider, path: str
) -> None:
    provider = make_provider()
    with serve_in_thread(provider) as base_url:
        status = _status_line(base_url, path)
        assert status.startswith(b"HTTP/1.1 "), status
        assert not status.startswith((b"HTTP/1.1 5", b"HTTP/1.1 101")), status
        # The server is still serving.
        assert httpx.get(base_url + "/.well-known/jwks.json").status_code == 200


@pytest.mark.anyio
async def test_a_websocket_scope_is_refused_by_closing(make_provider: MakeProvider) -> None:
    app = create_app(make_provider())
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
