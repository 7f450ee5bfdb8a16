"""One classifier of answers and one count model, for the live run and the simulation alike.

``answer_kind`` sorts every answer (or transport failure) the way reports
count it; ``ClientTally`` counts calls and requests with those kinds. The
simulation engine counts into a ``ClientTally`` per client as it goes (ints,
no allocation per call); a live run builds one from the server's counters or
the locust tally. Both then become report measurements in one place
(``quotalab.report.counted``).

Kinds (the report's conventions, ``quotalab.report.values``):

- ``OK``: a 2xx answer;
- ``THROTTLED_429`` / ``FORBIDDEN_403_99``: a 429, or Twitter's 403 code 99;
- ``THROTTLED_4XX``: a provider's throttle with another 4xx status (Entra's
  400 ``invalid_grant`` AADSTS50196 loop detection);
- ``AUTH_FAILURE``: any other 401 or 403;
- ``FAULT``: a 503, or no answer at all (a transport error);
- ``OTHER``: anything else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from quotalab.strategies.answers import is_loop_detected, is_twitter_throttle
from quotalab.wire import HttpResponse, TransportError

OK, THROTTLED_429, FORBIDDEN_403_99, AUTH_FAILURE, FAULT, OTHER, THROTTLED_4XX = range(7)

KIND_NAMES: tuple[str, ...] = (
    "ok",
    "throttled_429",
    "forbidden_403_99",
    "auth_401_403",
    "fault_503",
    "other",
    "throttled_4xx",
)
"""A kind's name in tally files and messages, indexed by kind."""

KINDS: dict[str, int] = {name: kind for kind, name in enumerate(KIND_NAMES)}

THROTTLED_KINDS = frozenset({THROTTLED_429, FORBIDDEN_403_99, THROTTLED_4XX})
"""Every throttle, whatever its status: reports' ``throttled_ratio`` and the gate count these."""

ABANDONED = "abandoned"
"""How a call cut off by the end of the run ends: attempted, never finished (docs/reports.md)."""


def status_kind(status: int) -> int:
    """The kind of a bare status code (no body to tell Twitter's 403 code 99 apart)."""
    if 200 <= status < 300:
        return OK
    if status == 429:
        return THROTTLED_429
    if status in (401, 403):
        return AUTH_FAILURE
    if status == 503 or status == 0:
        return FAULT
    return OTHER


def answer_kind(response: HttpResponse | TransportError) -> int:
    """Sort one answer the way every report counts it."""
    if isinstance(response, TransportError):
        return FAULT
    status = response.status
    if status == 403 and is_twitter_throttle(response):
        return FORBIDDEN_403_99
    if is_loop_detected(response):
        return THROTTLED_4XX
    return status_kind(status)


def is_throttled(response: HttpResponse | TransportError) -> bool:
    """A 429, Twitter's 403 code 99 or Entra's 400 AADSTS50196: any provider throttle."""
    return answer_kind(response) in THROTTLED_KINDS


_BY_REASON = ("errors", "throttled_errors")
"""``ClientTally`` fields counting calls by reason."""


@dataclass(slots=True)
class ClientTally:
    """What one client id did and what happened to it.

    ``calls``/``ok``/``failed`` count API calls as the application sees them
    (one call may send several requests); the rest count requests on the
    wire, with the report's conventions. ``errors`` counts failed calls by
    reason: an exception type, or ``http_<status>`` of the final answer.
    """

    calls: int = 0
    ok: int = 0
    failed: int = 0
    api_calls: int = 0
    api_ok: int = 0
    token_requests: int = 0
    tokens_issued: int = 0
    token_throttled: int = 0
    api_throttled: int = 0
    throttled_429: int = 0
    forbidden_403_99: int = 0
    throttled_4xx: int = 0
    auth_failures_401_403: int = 0
    faults_503: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    throttled_errors: dict[str, int] = field(default_factory=dict)
    """Of ``errors``, the calls that gave up on a throttle (the answer before the
    error was one), where the producer saw it; the report tells the rest by name."""
    first_messages: dict[str, str] = field(default_factory=dict)
    """The first message of each reason's error, where the producer kept it."""

    @property
    def throttled(self) -> int:
        """Requests of either purpose that the provider throttled."""
        return self.token_throttled + self.api_throttled

    def count(self, purpose: str, kind: int, amount: int = 1) -> None:
        """Count ``amount`` answered requests of ``purpose`` ("token" or "api")."""
        throttled = amount if kind in THROTTLED_KINDS else 0
        if purpose == "token":
            self.token_requests += amount
            self.tokens_issued += amount if kind == OK else 0
            self.token_throttled += throttled
        else:
            self.api_calls += amount
            self.api_ok += amount if kind == OK else 0
            self.api_throttled += throttled
        if kind == THROTTLED_429:
            self.throttled_429 += amount
        elif kind == FORBIDDEN_403_99:
            self.forbidden_403_99 += amount
        elif kind == THROTTLED_4XX:
            self.throttled_4xx += amount
        elif kind == AUTH_FAILURE:
            self.auth_failures_401_403 += amount
        elif kind == FAULT:
            self.faults_503 += amount

    def count_call(self, reason: str | None, amount: int = 1) -> None:
        """Count ``amount`` finished calls: ``None`` when they succeeded, else why they failed."""
        self.calls += amount
        if reason is None:
            self.ok += amount
        else:
            self.failed += amount
            self.errors[reason] = self.errors.get(reason, 0) + amount

    def merge(self, other: ClientTally, times: int = 1) -> None:
        """Add ``other``'s counts, ``times`` over, to these."""
        for name in ClientTally.__dataclass_fields__:
            if name in _BY_REASON:
                mine: dict[str, int] = getattr(self, name)
                for reason, n in getattr(other, name).items():
                    if n:
                        mine[reason] = mine.get(reason, 0) + n * times
            elif name == "first_messages":
                for reason, message in other.first_messages.items():
                    self.first_messages.setdefault(reason, message)
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name) * times)

    def copy(self) -> ClientTally:
        """An independent copy."""
        return dataclasses.replace(
            self,
            errors=dict(self.errors),
            throttled_errors=dict(self.throttled_errors),
            first_messages=dict(self.first_messages),
        )

    def since(self, before: ClientTally) -> ClientTally:
        """What was counted after ``before`` (a ``copy`` of this tally) was taken."""
        delta = ClientTally()
        for name in ClientTally.__dataclass_fields__:
            if name in _BY_REASON:
                now: dict[str, int] = getattr(self, name)
                then: dict[str, int] = getattr(before, name)
                setattr(delta, name, {r: n - then.get(r, 0) for r, n in now.items()})
            elif name != "first_messages":  # messages are firsts, not counts
                setattr(delta, name, getattr(self, name) - getattr(before, name))
        return delta
