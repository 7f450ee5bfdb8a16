"""A request that never finishes arriving cannot hold its connection forever."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from quotalab.server import read_timeouts
from quotalab.server.read_timeouts import _ReadDeadline
from quotalab.server.runner import serve_in_thread
from server.builders import AUDIENCE
from server.conftest import MakeProvider

READ_TIMEOUT_S = 0.3
WAIT_AT_MOST_S = 5.0  # far past the deadline: a close before it is the deadline at work


def _connect(base_url: str) -> socket.socket:
    """A raw connection to the server at ``base_url``, its reads bounded by ``WAIT_AT_MOST_S``."""
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=WAIT_AT_MOST_S)


def _closed_by_server(base_url: str, first_bytes: bytes) -> bool:
    with _connect(base_url) as raw:
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
    with (
        serve_in_thread(provider, read_timeout_s=READ_TIMEOUT_S, http=http) as base_url,
        _connect(base_url) as raw,
    ):
        raw.sendall(request * 2)  # two requests at once, each answered after the deadline
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            chunk = raw.recv(65536)
            assert chunk, f"closed after {received.count(b'HTTP/1.1 200')} answers"
            received += chunk


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_pipelined_requests_are_all_answered_and_never_queued_without_bound(
    make_provider: MakeProvider, http: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 requests of 1 KB sent at once on one connection: each answered, in order, and
    the server never holds more of them queued than one read brings (~256 with 1 KB
    requests). uvicorn's httptools protocol read on after every answer, queueing a whole
    read of requests for each one answered: a client pipelining faster than it read its
    answers made the queue, and the server's memory, grow without bound."""
    deepest = [0]
    protocol = read_timeouts.ReadTimeoutHttpToolsProtocol
    if http == "httptools":
        assert protocol is not None
        queue_one = protocol.on_headers_complete  # type: ignore[attr-defined]

        def on_headers_complete(self: Any) -> None:
            queue_one(self)
            deepest[0] = max(deepest[0], len(self.pipeline))

        monkeypatch.setattr(protocol, "on_headers_complete", on_headers_complete)
    n = 2000
    padding = b"x" * 1000
    request = b"GET /api/data HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: %s\r\n\r\n" % padding
    with (
        serve_in_thread(make_provider(), http=http) as base_url,
        _connect(base_url) as raw,
    ):
        sender = threading.Thread(target=raw.sendall, args=(request * n,), daemon=True)
        sender.start()
        received = b""
        while received.count(b"HTTP/1.1 ") < n:
            chunk = raw.recv(1 << 20)
            assert chunk, f"closed after {received.count(b'HTTP/1.1 ')} answers"
            received += chunk
        sender.join(WAIT_AT_MOST_S)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", received)
    assert statuses == [b"401"] * n  # no token: each one refused, none lost or doubled
    assert deepest[0] <= 600, deepest[0]


def _send_quietly(raw: socket.socket, data: bytes) -> None:
    """``raw.sendall(data)``; the server may close the connection before it is all sent."""
    with contextlib.suppress(OSError):
        raw.sendall(data)


@pytest.mark.parametrize(
    ("http", "said"),
    [
        ("h11", "Invalid HTTP request received."),
        ("httptools", "Request line and headers too large."),
    ],
)
def test_headers_without_end_are_refused_and_their_connection_closed(
    make_provider: MakeProvider, http: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4 MiB of header lines: a 400 and a closed connection, not a server holding each
    byte (httptools has no limit of its own: 60 MB of headers took 2 GB)."""
    protocol = read_timeouts.ReadTimeoutH11Protocol
    if http == "httptools":
        protocol = read_timeouts.ReadTimeoutHttpToolsProtocol  # type: ignore[assignment]
    refusals: list[str] = []
    refuse = protocol.send_400_response  # type: ignore[attr-defined]

    def send_400_response(self: Any, msg: str) -> None:
        refusals.append(msg)
        refuse(self, msg)

    monkeypatch.setattr(protocol, "send_400_response", send_400_response)
    endless = b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    endless += b"X-A: b\r\n" * (1 << 19)
    with (
        serve_in_thread(make_provider(), http=http) as base_url,
        _connect(base_url) as raw,
    ):
        sender = threading.Thread(target=_send_quietly, args=(raw, endless), daemon=True)
        sender.start()
        # The answer may be lost to a reset: the server closes with bytes unread.
        with contextlib.suppress(ConnectionResetError):
            while raw.recv(65536):
                pass
        sender.join(WAIT_AT_MOST_S)
    assert refusals == [said]
    assert not sender.is_alive()


def test_headers_within_the_limit_are_read_on_httptools(make_provider: MakeProvider) -> None:
    headers = {f"x-h{i}": "v" * 90 for i in range(400)}  # ~40 KB, past h11's own 16 KiB
    with (
        serve_in_thread(make_provider(), http="httptools") as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        assert client.get("/.well-known/jwks.json", headers=headers).status_code == 200


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
    timeout_keep_alive = 5  # uvicorn's default

    def __init__(self, loop: _Loop) -> None:
        self.loop = loop  # type: ignore[assignment]
        self.transport = _Transport()  # type: ignore[assignment]
        self.timeout_keep_alive_task = None
        self.closed_idle_at: float | None = None

    def timeout_keep_alive_handler(self) -> None:  # uvicorn's, recorded
        self.closed_idle_at = self.loop.time()
        self.transport.close()


def _counting_timers(loop: _Loop) -> list[float]:
    """Every time a timer is set, from now on."""
    scheduled: list[float] = []
    call_at = loop.call_at

    def counting(when: float, callback: Callable[[], None]) -> _Timer:
        scheduled.append(when)
        return call_at(when, callback)

    loop.call_at = counting  # type: ignore[method-assign]
    return scheduled


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
    scheduled = _counting_timers(loop)
    for _ in range(200):  # 200 requests over 10 s, each read within 0.05 s
        deadline._arm_read_deadline()
        loop.advance(0.05)
        deadline._cancel_read_deadline()
    assert not deadline.transport.is_closing()
    assert len(scheduled) <= 11  # not two per request
    deadline._stop_read_deadline()  # the connection is lost: no timer is left
    assert all(t.cancelled for t in loop.timers)
    deadline._arm_read_deadline()
    deadline._stop_read_deadline()
    loop.advance(5)
    assert not deadline.transport.is_closing()


def test_an_idle_connection_after_an_answer_is_closed_by_uvicorns_keep_alive_handler() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    deadline.read_timeout_s = 10.0  # longer than the keep-alive: that one closes first
    deadline._arm_read_deadline()  # the connection opens: a timer for the read at 10 s
    loop.advance(0.5)
    deadline._cancel_read_deadline()  # the first request was read whole
    loop.advance(0.5)
    deadline._answered()  # and answered at 1.0: the next one must begin by 6.0
    loop.advance(4.99)
    assert not deadline.transport.is_closing()
    loop.advance(0.02)
    assert deadline.closed_idle_at == pytest.approx(6.0)


def test_a_request_begun_in_time_has_the_read_deadline_not_the_keep_alive() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    deadline.read_timeout_s = 10.0
    deadline._answered()  # at 0: begin by 5, read whole by 10
    loop.advance(1.0)
    deadline._unset_keepalive_if_required()  # uvicorn: the first bytes arrived
    loop.advance(8.9)
    assert not deadline.transport.is_closing()
    loop.advance(0.2)
    assert deadline.transport.is_closing()
    assert deadline.closed_idle_at is None  # the read deadline closed it, at 10


def test_a_read_deadline_shorter_than_the_keep_alive_closes_an_idle_connection_first() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)  # read_timeout_s 1, keep-alive 5
    deadline._answered()
    loop.advance(1.01)
    assert deadline.transport.is_closing()
    assert deadline.closed_idle_at is None


def test_answers_under_load_cost_a_timer_every_few_seconds_not_one_per_request() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    deadline.read_timeout_s = 10.0
    scheduled = _counting_timers(loop)
    deadline._arm_read_deadline()
    for _ in range(2000):  # 2,000 requests over 100 s, each read and answered in 0.05 s
        loop.advance(0.01)
        deadline._unset_keepalive_if_required()  # its first bytes
        loop.advance(0.01)
        deadline._cancel_read_deadline()  # read whole
        loop.advance(0.03)
        deadline._answered()
    assert not deadline.transport.is_closing()
    assert len(scheduled) <= 2 * 100 / 5 + 2  # at most two per keep-alive span
    loop.advance(5.01)  # then the client goes quiet: closed at the keep-alive
    assert deadline.closed_idle_at == pytest.approx(100.0 + 5.0)


def test_uvicorns_own_keep_alive_timer_is_still_cancelled_when_data_arrives() -> None:
    loop = _Loop()
    deadline = _Deadline(loop)
    timer = _Timer(5.0, deadline.timeout_keep_alive_handler)
    deadline.timeout_keep_alive_task = timer  # type: ignore[assignment]
    deadline._unset_keepalive_if_required()
    assert timer.cancelled
    assert deadline.timeout_keep_alive_task is None


_TOKEN_BODY = (
    b'{"grant_type":"client_credentials","client_id":"demo-client",'
    b'"client_secret":"demo-secret","audience":"https://api.quotalab.test/"}'
)
_TOKEN_REQUEST = (
    b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_TOKEN_BODY), _TOKEN_BODY)
)


def _read_until(raw: socket.socket, marker: bytes, count: int = 1) -> bytes:
    received = b""
    while received.count(marker) < count:
        chunk = raw.recv(65536)
        assert chunk, f"closed before {count} x {marker!r}: {received!r}"
        received += chunk
    return received


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_requests_after_one_answered_before_its_body_arrived_are_still_timed(
    make_provider: MakeProvider, http: str
) -> None:
    # An announced body over the cap is answered 413 at once; the body comes after.
    provider = make_provider(toml="[provider]\nmax_body_bytes = 256\n")
    oversized = (
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with (
        serve_in_thread(provider, read_timeout_s=READ_TIMEOUT_S, http=http) as base_url,
        _connect(base_url) as raw,
    ):
        raw.sendall(oversized)
        _read_until(raw, b"HTTP/1.1 413")
        raw.sendall(b"x" * 1000 + _TOKEN_REQUEST)
        _read_until(raw, b"HTTP/1.1 200")
        raw.sendall(_TOKEN_REQUEST)  # one more, answered: the deadline starts again
        _read_until(raw, b"HTTP/1.1 200")
        raw.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        try:
            assert raw.recv(4096) == b""
        except TimeoutError:
            pytest.fail("a request that never finished kept its connection")


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_time(
    make_provider: MakeProvider, http: str
) -> None:
    provider = make_provider()
    # A read deadline far off: only the keep-alive (1 s) can close the connection in time.
    with (
        serve_in_thread(provider, read_timeout_s=60.0, keep_alive_s=1, http=http) as base_url,
        _connect(base_url) as raw,
    ):
        raw.sendall(_TOKEN_REQUEST)
        received = _read_until(raw, b"HTTP/1.1 200")
        try:
            while chunk := raw.recv(65536):  # the rest of the answer, then the close
                received += chunk
        except TimeoutError:
            pytest.fail("an idle keep-alive connection was kept")


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_pipelined_request_slower_than_the_keep_alive_is_not_cut(
    make_provider: MakeProvider, http: str
) -> None:
    # The second request was read whole with the first: while it is being answered the
    # connection is not idle, whatever the keep-alive (1 s) and the answer's latency.
    provider = make_provider()
    provider.set_faults({"endpoints": {"token": {"latency_ms": 1200}}})
    with (
        serve_in_thread(provider, read_timeout_s=60.0, keep_alive_s=1, http=http) as base_url,
        _connect(base_url) as raw,
    ):
        raw.sendall(_TOKEN_REQUEST * 2)
        _read_until(raw, b"HTTP/1.1 200", count=2)
