"""What a response means to a client: success, throttle, outage, or a definite no.

Pure functions of a response and ``now``: ``classify`` names the outcome and
``server_wait_s`` reads how long the server asked the client to wait. Both
split into what the response says whatever the time (``outcome_of``,
``wait_basis``) and the arithmetic at ``now`` (``wait_at``), so a reader of
one answer at many instants (the simulation's herds) reads its text once.
"""

from __future__ import annotations

import email.utils
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from enum import Enum
from typing import NamedTuple

from quotalab.errors import CredentialsError, StrategyError, ThrottledError, UnavailableError
from quotalab.wire import HttpResponse, TransportError, json_or_none

TWITTER_THROTTLE_CODE = 99  # 403 "Unable to verify your credentials" on oauth2/token
TWITTER_INVALID_TOKEN_CODE = 89  # 401 "Invalid or expired token."
ENTRA_LOOP_CODE = b"AADSTS50196"  # 400 invalid_grant: "encountered a loop": stop asking
RETRYABLE_5XX = frozenset({502, 503, 504})


class AnswerKind(Enum):
    OK = "ok"
    THROTTLED = "throttled"  # 429: wait and retry
    COOLDOWN = "cooldown"  # Twitter 403 code 99, Entra 400 AADSTS50196: throttles, no wait
    UNAVAILABLE = "unavailable"  # 502/503/504 or no HTTP answer at all
    INVALID_TOKEN = "invalid_token"  # API 401: the token, not the client, is bad
    DEFINITE = "definite"  # any other answer: retrying cannot change it


RETRYABLE = frozenset({AnswerKind.THROTTLED, AnswerKind.COOLDOWN, AnswerKind.UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class AnswerVerdict:
    outcome: AnswerKind
    wait_s: float | None = None  # the server-given wait, when it gave one


def _twitter_codes(response: HttpResponse) -> frozenset[int]:
    body = response.body
    if b'"errors"' not in body:
        return frozenset()
    return _codes_in(body)


@functools.lru_cache(maxsize=256)
def _codes_in(body: bytes) -> frozenset[int]:
    """The ``code`` of each error in a Twitter error body, read once per body: a
    provider sends a few bodies, each many times (fresh answers, the same bytes)."""
    data = json_or_none(body)
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return frozenset()
    return frozenset(
        e["code"] for e in errors if isinstance(e, dict) and isinstance(e.get("code"), int)
    )


def is_twitter_throttle(response: HttpResponse) -> bool:
    """Twitter's token throttle: 403 with ``{"errors":[{"code":99,...}]}`` and no headers."""
    return response.status == 403 and TWITTER_THROTTLE_CODE in _twitter_codes(response)


def is_loop_detected(response: HttpResponse) -> bool:
    """Entra's loop detection: 400 ``invalid_grant`` AADSTS50196, a throttle in 4xx clothing.

    Microsoft's guidance is to stop asking and back off (cache the token), not
    to treat it as a definite refusal: the same request succeeds later.
    """
    return response.status == 400 and ENTRA_LOOP_CODE in response.body


def is_provider_throttle(response: HttpResponse) -> bool:
    """A throttle answered with a status other than 429 (Twitter's 403 code 99, Entra's 400)."""
    return is_twitter_throttle(response) or is_loop_detected(response)


def _is_invalid_token(response: HttpResponse) -> bool:
    challenge = response.headers.get("www-authenticate", "")
    if re.search(r'error\s*=\s*"?invalid_token"?', challenge):
        return True
    if TWITTER_INVALID_TOKEN_CODE in _twitter_codes(response):
        return True
    # Auth0 Management API style: 401 JSON without a challenge header. A 401 from
    # the API itself means the token, not the client, was refused: refetch once.
    if b"Expired token" in response.body or b"invalid_token" in response.body:
        return True
    if b'"statusCode"' not in response.body:
        return False
    data = response.json()
    return isinstance(data, dict) and data.get("statusCode") == 401


def outcome_of(reply: HttpResponse | TransportError, *, api: bool) -> AnswerKind:
    """What ``reply`` means, whatever the time; ``api`` is False for token-endpoint replies."""
    if isinstance(reply, TransportError):
        return AnswerKind.UNAVAILABLE
    status = reply.status
    if 200 <= status < 300:
        return AnswerKind.OK
    if status == 429:
        return AnswerKind.THROTTLED
    if status in RETRYABLE_5XX:
        return AnswerKind.UNAVAILABLE
    if is_provider_throttle(reply):  # no usable wait in the answer: cool down
        return AnswerKind.COOLDOWN
    if status == 401 and api and _is_invalid_token(reply):
        return AnswerKind.INVALID_TOKEN
    return AnswerKind.DEFINITE


def classify(reply: HttpResponse | TransportError, now: float, *, api: bool) -> AnswerVerdict:
    """Name what ``reply`` means; ``api`` is False for token-endpoint replies."""
    outcome = outcome_of(reply, api=api)
    if outcome in RETRYABLE and isinstance(reply, HttpResponse):
        return AnswerVerdict(outcome, server_wait_s(reply, now))
    return AnswerVerdict(outcome)


# Structured-field integers (RFC 8941: at most 15 digits); "t=1e99" or "t=1.5" is no hint.
_PARAM_T = re.compile(r"(?:^|[;,\s])t\s*=\s*(\d{1,15})(?![\w.])")
_PARAM_R = re.compile(r"(?:^|[;,\s])r\s*=\s*(\d+)(?![\d.])")


def _param_t(value: str) -> float | None:
    """``t=`` of a policy list: the longest among policies with ``r=0``, else the first."""
    spent = []
    for item in value.split(","):
        t = _PARAM_T.search(item)
        r = _PARAM_R.search(item)
        if t is not None and r is not None and int(r.group(1)) == 0:
            spent.append(float(t.group(1)))
    if spent:
        return max(spent)
    match = _PARAM_T.search(value)
    return float(match.group(1)) if match else None


def _number(value: str) -> float | None:
    """A finite number, or None: "inf" and "nan" are no hint at all."""
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class WaitBasis(NamedTuple):
    """A wait as a response states it: ``value`` seconds, or (``until``) until the
    epoch instant ``value``, which is ``max(0, value - now)`` seconds at ``now``."""

    value: float
    until: bool


def _seconds_or_date(value: str) -> WaitBasis | None:
    value = value.strip()
    seconds = _number(value)
    if seconds is not None:
        # RFC 9110 delay-seconds are non-negative: "-5" is no hint, not "retry now".
        return WaitBasis(seconds, False) if seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # asctime and "-0000" dates: RFC 9110 dates are all GMT
        when = when.replace(tzinfo=UTC)
    return WaitBasis(when.timestamp(), True)


def _delay_seconds(value: str) -> WaitBasis | None:
    seconds = _number(value)
    return WaitBasis(seconds, False) if seconds is not None and seconds >= 0 else None


def _epoch(value: str) -> WaitBasis | None:
    epoch = _number(value)
    return None if epoch is None else WaitBasis(epoch, True)


def _policy_t(value: str) -> WaitBasis | None:
    seconds = _param_t(value)
    return None if seconds is None else WaitBasis(seconds, False)


def wait_at(basis: WaitBasis | None, now: float) -> float | None:
    """The seconds ``basis`` asks to wait at ``now`` (None: it asks nothing)."""
    if basis is None:
        return None
    value, until = basis
    return max(0.0, value - now) if until else value


_WAIT_READERS: tuple[tuple[str, Callable[[str], WaitBasis | None]], ...] = (
    ("retry-after", _seconds_or_date),
    ("ratelimit", _policy_t),
    ("ratelimit-reset", _delay_seconds),
    ("auth0-ratelimit", _policy_t),
    ("x-ratelimit-reset", _epoch),
    ("x-rate-limit-reset", _epoch),
)
"""Headers that carry a wait, by precedence, and how to read each."""


def wait_basis(response: HttpResponse) -> WaitBasis | None:
    """The wait the server asked for, by precedence, before the time is known; None
    when it said nothing (see ``server_wait_s``)."""
    headers = response.headers
    for name, read in _WAIT_READERS:
        value = headers.get(name)
        if value is not None:
            basis = read(value)
            if basis is not None:
                return basis
    return None


def server_wait_s(response: HttpResponse, now: float) -> float | None:
    """Seconds the server asked us to wait, by precedence; None when it said nothing.

    Order: ``Retry-After`` (seconds or HTTP-date), IETF ``RateLimit`` ``t=``
    (the structured field of the current drafts), the older drafts'
    ``RateLimit-Reset`` (delta seconds), ``Auth0-RateLimit`` ``t=``, then
    ``x-ratelimit-reset`` / ``x-rate-limit-reset`` (UNIX epoch). A reset
    already in the past means "no wait" (0).
    """
    return wait_at(wait_basis(response), now)


def error_for(reply: HttpResponse | TransportError, what: str, sends: int = 1) -> StrategyError:
    """The typed error for giving up on ``reply``; ``what`` names the request, ``sends``
    how many times it was sent (a throttle on the first send was never retried: a
    client that does not retry is "throttled", not "still throttled")."""
    if isinstance(reply, TransportError):
        return UnavailableError(f"{what}: no answer ({reply.reason})")
    status = reply.status
    if status == 429 or is_provider_throttle(reply):
        throttled = f"still throttled after {sends} tries" if sends > 1 else "throttled"
        return ThrottledError(f"{what}: {throttled} (HTTP {status})", status)
    if status in (401, 403):
        return CredentialsError(f"{what}: refused (HTTP {status})", status)
    if status >= 500:
        return UnavailableError(f"{what}: unavailable (HTTP {status})", status)
    return StrategyError(f"{what}: failed (HTTP {status})", status)
