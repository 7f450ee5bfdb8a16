"""A deadline on reading each request, headers and body together.

uvicorn times idle keep-alive connections but not a request being read: a
client that announces a body and never sends it, or never finishes its
headers, held its connection (and the app's wait for the body) forever.
These protocols (h11 and httptools) close such a connection when a request
is not read whole ``read_timeout_s`` after the connection opened or its
previous answer was sent; the app then sees ``http.disconnect`` and nothing
is counted twice.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ENV_READ_TIMEOUT_S = "QUOTALAB_READ_TIMEOUT_S"
DEFAULT_READ_TIMEOUT_S = 10.0


class _ReadDeadline:
    """The deadline both parsers' protocols share: armed, cancelled, and on expiry a close.

    Arming and cancelling happen on every request, so they only move a
    number (``_read_due_at``); one timer per connection follows it lazily.
    Due times only grow, so a pending timer never fires after the deadline
    it stands for: when it fires early (the deadline moved on) it is set
    again for the new due time, and when nothing is being read it lapses.
    A keep-alive connection under load thus costs a timer every
    ``read_timeout_s``, not two per request.
    """

    read_timeout_s = float(os.environ.get(ENV_READ_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S))
    _read_deadline: asyncio.TimerHandle | None = None
    _read_due_at: float | None = None
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop  # set by uvicorn's protocols: the loop serving them

    def _arm_read_deadline(self) -> None:
        loop = self.loop
        self._read_due_at = loop.time() + self.read_timeout_s
        if self._read_deadline is None:
            self._read_deadline = loop.call_at(self._read_due_at, self._read_deadline_reached)

    def _cancel_read_deadline(self) -> None:
        self._read_due_at = None  # the pending timer, if any, lapses when it fires

    def _stop_read_deadline(self) -> None:
        """On connection loss: the timer goes too, so nothing holds the protocol."""
        self._read_due_at = None
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_deadline_reached(self) -> None:
        self._read_deadline = None
        due_at = self._read_due_at
        if due_at is None:
            return
        loop = self.loop
        if loop.time() < due_at:  # armed again since: follow the deadline
            self._read_deadline = loop.call_at(due_at, self._read_deadline_reached)
            return
        self._read_due_at = None
        if not self.transport.is_closing():
            self.transport.close()


class ReadTimeoutH11Protocol(_ReadDeadline, H11Protocol):
    """uvicorn's h11 protocol plus a per-request read deadline."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._disarm_when_read()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_read_deadline()  # the next request on this connection
            self._disarm_when_read()  # unless it was already read (pipelining)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_deadline()
        super().connection_lost(exc)

    def _disarm_when_read(self) -> None:
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
            self._cancel_read_deadline()


ReadTimeoutHttpToolsProtocol: type[asyncio.Protocol] | None = None
"""The same deadline on uvicorn's httptools protocol (``quotalab[fast]``); None without it."""

if importlib.util.find_spec("httptools") is not None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class _ReadTimeoutHttpToolsProtocol(_ReadDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol plus a per-request read deadline."""

        _unanswered = 0  # requests read whole, not answered yet (pipelining)

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_read_deadline()

        # Two hooks per request, as on h11: the deadline counts from the previous
        # answer (or the connection), and a request read whole lets it lapse.
        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._unanswered += 1
            self._read_due_at = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._unanswered > 0:
                self._unanswered -= 1
            if not self._unanswered and not self.transport.is_closing():
                self._arm_read_deadline()  # the next request on this connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_read_deadline()
            super().connection_lost(exc)

    _ReadTimeoutHttpToolsProtocol.__name__ = "ReadTimeoutHttpToolsProtocol"
    _ReadTimeoutHttpToolsProtocol.__qualname__ = "ReadTimeoutHttpToolsProtocol"
    ReadTimeoutHttpToolsProtocol = _ReadTimeoutHttpToolsProtocol


def protocol_for(http: str) -> type[asyncio.Protocol]:
    """The read-deadline protocol for ``http`` (auto: httptools when installed, else h11)."""
    if http in ("auto", "httptools") and ReadTimeoutHttpToolsProtocol is not None:
        return ReadTimeoutHttpToolsProtocol
    return ReadTimeoutH11Protocol


def read_timeout_protocol(read_timeout_s: float, http: str = "h11") -> type[asyncio.Protocol]:
    """The protocol class with its own deadline (in-process servers; workers use the env)."""
    base = protocol_for(http)
    return type(base.__name__, (base,), {"read_timeout_s": read_timeout_s})
