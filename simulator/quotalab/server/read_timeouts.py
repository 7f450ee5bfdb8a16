"""A deadline on reading each request, headers and body together.

uvicorn times idle keep-alive connections but not a request being read: a
client that announces a body and never sends it, or never finishes its
headers, held its connection (and the app's wait for the body) forever.
These protocols (h11 and httptools) close such a connection when a request
is not read whole ``read_timeout_s`` after the connection opened or its
previous answer was sent; the app then sees ``http.disconnect`` and nothing
is counted twice. They keep uvicorn's keep-alive limit too (an idle
connection is closed ``timeout_keep_alive`` after an answer, by uvicorn's own
handler), on the same lazy timer instead of one armed and cancelled per request.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
from typing import TYPE_CHECKING

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ENV_READ_TIMEOUT_S = "QUOTALAB_READ_TIMEOUT_S"
DEFAULT_READ_TIMEOUT_S = 10.0
MAX_HEAD_BYTES = 65_536
"""How much of a request's line and headers the httptools protocol takes before it
answers 400 and closes, counted over the reads that carry nothing else, so a head
may pass it by up to two reads (h11 refuses a head still incomplete after 16 KiB;
httptools has no limit, and one connection sending headers without end took the
server's memory to 2 GB)."""


class _ReadDeadline:
    """A connection's two deadlines on one lazy timer: reading a request, and idling.

    ``_read_due_at``: the request being read must be read whole by then
    (``read_timeout_s`` from the connection's start or the previous answer).
    ``_idle_due_at``: uvicorn's keep-alive, taken over from it: after an answer
    the next request's first bytes must come within ``timeout_keep_alive``
    (uvicorn's setting, 5 s), else the connection is closed as uvicorn would.
    uvicorn arms and cancels a timer per request for that; here an answer
    only moves the two numbers, and data arriving or a request read whole
    clears them. One timer per connection follows the earliest lazily: it is
    set again only for a due time earlier than its own, and when it fires
    early (the due times moved on) it is set for the new earliest one, or
    lapses when nothing is due. A keep-alive connection under load thus
    costs a timer every few seconds, not one or two per request.
    """

    read_timeout_s = float(os.environ.get(ENV_READ_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S))
    timeout_keep_alive: int  # seconds; set by uvicorn's protocols from their config
    _timer: asyncio.TimerHandle | None = None
    _timer_at = math.inf
    _read_due_at: float | None = None
    _idle_due_at: float | None = None
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop  # set by uvicorn's protocols: the loop serving them
    timeout_keep_alive_task: asyncio.TimerHandle | None

    def _arm_read_deadline(self) -> None:
        """A request may begin now (the connection's start, or after an early answer)."""
        due = self.loop.time() + self.read_timeout_s
        self._read_due_at = due
        if due < self._timer_at:
            self._set_timer(due)

    def _answered(self) -> None:
        """An answer went out and nothing more was read: the next request has
        ``timeout_keep_alive`` to begin and ``read_timeout_s`` to be read whole."""
        now = self.loop.time()
        self._read_due_at = read_due = now + self.read_timeout_s
        self._idle_due_at = idle_due = now + self.timeout_keep_alive
        first = idle_due if idle_due < read_due else read_due
        if first < self._timer_at:
            self._set_timer(first)

    def _unset_keepalive_if_required(self) -> None:
        """uvicorn's hook when data arrives (and on an answer or a loss): not idle now."""
        self._idle_due_at = None
        task = self.timeout_keep_alive_task  # armed only by uvicorn's own paths
        if task is not None:
            task.cancel()
            self.timeout_keep_alive_task = None

    def _cancel_read_deadline(self) -> None:
        """A request was read whole: nothing is due until it is answered."""
        self._read_due_at = None
        self._idle_due_at = None

    def _stop_read_deadline(self) -> None:
        """On connection loss: the timer goes too, so nothing holds the protocol."""
        self._read_due_at = None
        self._idle_due_at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._deadline_reached)
        self._timer_at = when

    def _deadline_reached(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        idle_due, read_due = self._idle_due_at, self._read_due_at
        now = self.loop.time()
        if idle_due is not None and now >= idle_due:
            self._read_due_at = self._idle_due_at = None
            self.timeout_keep_alive_handler()  # uvicorn's own close of an idle connection
        elif read_due is not None and now >= read_due:
            self._read_due_at = self._idle_due_at = None
            if not self.transport.is_closing():
                self.transport.close()
        elif idle_due is not None or read_due is not None:  # moved on since: follow it
            due = [d for d in (idle_due, read_due) if d is not None]
            self._set_timer(min(due))

    if TYPE_CHECKING:

        def timeout_keep_alive_handler(self) -> None:
            """uvicorn's close of an idle keep-alive connection (its protocols have it)."""


class ReadTimeoutH11Protocol(_ReadDeadline, H11Protocol):
    """uvicorn's h11 protocol plus a per-request read deadline."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        H11Protocol.connection_made(self, transport)
        self._arm_read_deadline()

    def data_received(self, data: bytes) -> None:
        H11Protocol.data_received(self, data)
        self._disarm_when_read()

    def on_response_complete(self) -> None:
        if self.transport.is_closing():
            H11Protocol.on_response_complete(self)  # counts it, nothing more
            return
        # uvicorn's own, with the deadlines' numbers in place of its keep-alive timer.
        self.server_state.total_requests += 1
        self._answered()
        self.flow.resume_reading()
        conn = self.conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()  # a pipelined request
            self.handle_events()
        self._disarm_when_read()  # unless the next request was already read (pipelining)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_deadline()
        H11Protocol.connection_lost(self, exc)

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
        _head_bytes: int | None = None  # bytes read into the head being read; None: none
        _heads = 0  # heads begun on this connection: tells one head from the next

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            HttpToolsProtocol.connection_made(self, transport)
            self._arm_read_deadline()

        def data_received(self, data: bytes) -> None:
            # A read is counted when one head was being read before it and still is after
            # it: all of it was that head. The reads where a head begins or ends are not
            # (they may carry other requests too), so a head is refused past the limit
            # and at most two reads (256 KiB each) more.
            head, heads = self._head_bytes, self._heads
            HttpToolsProtocol.data_received(self, data)
            if head is None or self._head_bytes is None or self._heads != heads:
                return
            head += len(data)
            if head > MAX_HEAD_BYTES:
                self._head_bytes = None
                self.logger.warning("Request line and headers too large.")
                self.send_400_response("Request line and headers too large.")
                return
            self._head_bytes = head

        def on_message_begin(self) -> None:
            HttpToolsProtocol.on_message_begin(self)
            self._head_bytes = 0
            self._heads += 1

        def on_headers_complete(self) -> None:
            self._head_bytes = None
            HttpToolsProtocol.on_headers_complete(self)

        # Two hooks per request, as on h11: the deadline counts from the previous
        # answer (or the connection), and a request read whole lets it lapse.
        def on_message_complete(self) -> None:
            HttpToolsProtocol.on_message_complete(self)
            if not self.cycle.response_complete:
                self._unanswered += 1
                self._read_due_at = self._idle_due_at = None
            # else it was answered before it was read whole (a 413 at once): the
            # deadline that answer set runs on, over the next request too.

        def on_response_complete(self) -> None:
            unanswered = self._unanswered
            if unanswered:
                self._unanswered = unanswered = unanswered - 1
            if unanswered or self.pipeline or self.transport.is_closing():
                # uvicorn's own: counts it and starts a queued request.
                HttpToolsProtocol.on_response_complete(self)
                if self.pipeline:
                    # uvicorn resumes reading after every answer, and each read queues
                    # a whole buffer of pipelined requests: a client that pipelines
                    # without reading its answers grew the queue (and the server's
                    # memory) without bound. Reading waits until the queue is empty.
                    self.flow.pause_reading()
                if not unanswered and not self.transport.is_closing():
                    self._arm_read_deadline()  # the queued request's body is still coming
                return
            # uvicorn's own, with the deadlines' numbers in place of its keep-alive timer.
            self.server_state.total_requests += 1
            self.flow.resume_reading()
            self._answered()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_read_deadline()
            HttpToolsProtocol.connection_lost(self, exc)

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
