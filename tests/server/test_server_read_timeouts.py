"""A request that never finishes arriving cannot hold its connection forever."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from quotalab.server.read_timeouts import _ReadDeadline
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


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_an_answer_slower_than_the_deadline_and_pipelined_requests_are_not_cut(
    make_provider: MakeProvider, http: str
) -> None:
    provider = make_provider()
    provider.set_faults({"endpoints": {"token": {"latency_ms": 2 * READ_TIMEOUT_S * 1000}}})
    body = (
        b'{"grant_type":"client_credentials","client_id":"demo-client",'
        b'"client_secret":"demo-secret","audience":"https://api.quotalab.test/"}'
    )
    request = (
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with serve_in_thread(provider, read_timeout_s=READ_TIMEOUT_S, http=http) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=WAIT_AT_MOST_S) as raw:
            raw.sendall(request * 2)  # two requests at once, each answered after the deadline
            received = b""
            while received.count(b"HTTP/1.1 200") < 2:
                chunk = raw.recv(65536)
                assert chunk, f"closed after {received.count(b'HTTP/1.1 200')} answers"
                received += chunk


class _Timer:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class _Loop:
    """Virtual time for the deadline: ``advance`` fires what falls due, in order."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[_Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer(when, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while due := [t for t in self.timers if not t.cancelled and t.when <= end]:
            timer = min(due, key=lambda t: t.when)
            self.timers.remove(timer)
            self.now = max(self.now, timer.when)
            timer.callback()
        self.now = end


class _Transport:
    closed = False

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


class _Deadline(_ReadDeadline):
    read_timeout_s = 1.0

    def __init__(self, loop: _Loop) -> None:
        self.loop = loop  # type: ignore[assignment]
        self.transport = _Transport()  # type: ignore[assignment]


def test_an_unfinished_read_is_closed_at_its_deadline_not_before() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    deadline._arm_read_deadline()
    loop.advance(0.99)
    assert not deadline.transport.is_closing()
    loop.advance(0.02)
    assert deadline.transport.is_closing()


def test_a_deadline_armed_again_moves_the_close_later() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    deadline._arm_read_deadline()
    deadline._cancel_read_deadline()
    loop.advance(0.9)
    deadline._arm_read_deadline()  # the next request began at 0.9: due at 1.9
    loop.advance(0.95)
    assert not deadline.transport.is_closing()
    loop.advance(0.1)
    assert deadline.transport.is_closing()


def test_requests_read_in_time_keep_the_connection_with_one_timer_per_deadline() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    scheduled = 0
    call_at = loop.call_at

    def counting(when: float, callback: Callable[[], None]) -> _Timer:
        nonlocal scheduled
        scheduled += 1
        return call_at(when, callback)

    loop.call_at = counting  # type: ignore[method-assign]
    for _ in range(200):  # 200 requests over 10 s, each read within 0.05 s
        deadline._arm_read_deadline()
        loop.advance(0.05)
        deadline._cancel_read_deadline()
    assert not deadline.transport.is_closing()
    assert scheduled <= 11  # not two per request
    deadline._stop_read_deadline()  # the connection is lost: no timer is left
    assert all(t.cancelled for t in loop.timers)
    deadline._arm_read_deadline()
    deadline._stop_read_deadline()
    loop.advance(5)
    assert not deadline.transport.is_closing()
