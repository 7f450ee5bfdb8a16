"""A request that never finishes arriving cannot hold its connection forever."""

from __future__ import annotations

import socket

import httpx
import pytest

from quotalab.server.runner import serve_in_thread
from server.builders import AUDIENCE
from server.conftest import MakeProvider

READ_TIMEOUT_S = 0.3
WAIT_AT_MOST_S = 5.0  # far past the deadline: a close before it is the deadline at work


def _closed_by_server(base_url: str, first_bytes: bytes) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT_AT_MOST_S) as raw:
        raw.sendall(first_bytes)
        try:
            return raw.recv(4096) == b""
        except TimeoutError:
            return False


@pytest.mark.parametrize(
    "first_bytes",
    [
        # A body announced and never sent.
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"client_id"',
        # Headers never finished.
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
        # Nothing at all.
        b"",
    ],
    ids=["body", "headers", "silence"],
)
@pytest.mark.parametrize("http", ["h11", "httptools"])  # httptools: quotalab[fast]
def test_a_request_not_read_in_time_has_its_connection_closed(
    make_provider: MakeProvider, first_bytes: bytes, http: str
) -> None:
    provider = make_provider()
    with serve_in_thread(provider, read_timeout_s=READ_TIMEOUT_S, http=http) as base_url:
        assert _closed_by_server(base_url, first_bytes)
        # Complete requests, one after another on one connection, are unaffected.
        with httpx.Client(base_url=base_url) as client:
            for _ in range(3):
                response = client.post(
                    "/oauth/token",
                    json={
                        "grant_type": "client_credentials",
                        "client_id": "demo-client",
                        "client_secret": "demo-secret",
                        "audience": AUDIENCE,
                    },
                )
                assert response.status_code == 200
