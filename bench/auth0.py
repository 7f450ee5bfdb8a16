"""What the benchmarks send to the Auth0 profile: the demo client's token request."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

from bench.processes import HOST

TOKEN_PATH = "/oauth/token"
API_PATH = "/api/data"
AUDIENCE = "https://api.quotalab.test/"
TOKEN_BODY = json.dumps(
    {
        "grant_type": "client_credentials",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "audience": AUDIENCE,
    },
    separators=(",", ":"),
)
TOKEN_HEADERS = {"Content-Type": "application/json"}

# Headers the HTTP server adds by itself; the bare baseline gets its own from uvicorn.
SERVER_HEADERS = frozenset({"date", "server", "content-length", "connection", "keep-alive"})


@dataclass(frozen=True, slots=True)
class Captured:
    """One response as the app produced it, minus what the HTTP server adds."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: str


def capture(
    port: int, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
) -> Captured:
    """Send one request to 127.0.0.1:``port`` and capture the answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode()
        kept = tuple(
            (name.lower(), value)
            for name, value in response.getheaders()
            if name.lower() not in SERVER_HEADERS
        )
        return Captured(response.status, kept, text)
    finally:
        conn.close()


def post_token(port: int) -> Captured:
    """POST the demo client's token request once and capture the answer."""
    return capture(port, "POST", TOKEN_PATH, TOKEN_BODY, TOKEN_HEADERS)


def fetch_token(port: int) -> str:
    """An access token for the demo client (the server must issue it: limits off or unspent)."""
    captured = post_token(port)
    if captured.status != 200:
        raise RuntimeError(f"token request answered {captured.status}: {captured.body}")
    token: str = json.loads(captured.body)["access_token"]
    return token


def get_api(port: int, token: str) -> Captured:
    """GET /api/data with ``token`` once and capture the answer."""
    return capture(port, "GET", API_PATH, headers={"Authorization": f"Bearer {token}"})
