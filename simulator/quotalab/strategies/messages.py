"""The sans-I/O vocabulary between a client strategy and whatever drives it.

A strategy's flow is a generator. It yields actions; the driver (httpx,
locust, the virtual-time simulation) performs each one and sends back the
result:

========================  =========================================
action yielded            what the driver sends back
========================  =========================================
``Send(request, purpose)`` an ``HttpResponse``, or a ``TransportError``
``Sleep(seconds)``        ``None`` once that much time has passed
``AwaitRefresh(cache)``   ``None`` once ``cache.refreshing`` is False
========================  =========================================

When the flow returns, its return value is the final API response. A flow
that gives up raises a ``StrategyError`` subclass. After any ``Send`` whose
purpose is ``"token"`` completes (the response was sent into the flow), the
driver must wake every flow waiting in ``AwaitRefresh`` on that cache.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal, Protocol

from quotalab.wire import HttpRequest, HttpResponse, TransportError

Purpose = Literal["token", "api"]


@dataclass(frozen=True, slots=True)
class Send:
    request: HttpRequest
    purpose: Purpose


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class AwaitRefresh:
    """Another flow is fetching the token this flow needs: wait for it."""

    cache: object


Action = Send | Sleep | AwaitRefresh


def is_seconds(value: object) -> bool:
    """Whether ``value`` is a number of seconds a flow may sleep: an int or float from 0
    up (NaN, negatives, booleans and integers past a float's range are none)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return float(value) >= 0.0  # False for NaN
    except OverflowError:
        return False


def not_an_action(action: object) -> TypeError:
    """The error of a call whose flow yielded ``action``, which no driver can perform
    (a custom strategy's bug: the call fails, whichever driver runs it)."""
    expected = "expected Send of an HttpRequest, Sleep of seconds >= 0, or AwaitRefresh"
    return TypeError(f"the flow yielded {action!r}: {expected}")


__all__ = [
    "Action",
    "AwaitRefresh",
    "Flow",
    "HttpRequest",
    "HttpResponse",
    "Purpose",
    "Reply",
    "Send",
    "Sleep",
    "Strategy",
    "TransportError",
    "is_seconds",
    "not_an_action",
]

Reply = HttpResponse | TransportError | None
Flow = Generator[Action, Reply, HttpResponse]


class Strategy(Protocol):
    """A client strategy: how to get a token and call an API with it."""

    name: str

    def call(self, request: HttpRequest) -> Flow:
        """The flow that performs one API call, fetching tokens as needed."""
        ...
