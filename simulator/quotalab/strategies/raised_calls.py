"""What an own client's failed ``call_api`` means: the answer its exception carries, if any.

A production client often raises where quotalab's strategies return: an SDK
turns a 429 from the token endpoint into ``RateLimitError``, ``requests``
into ``HTTPError``, authlib into ``OAuthError``. Such a call failed, and when
the exception carries the throttling answer the client saw (a 429, Twitter's
403 code 99) it failed *throttled*. ``raised_call`` finds that answer on the
common SDK exceptions without importing any of them:

- ``error.response.status_code`` / ``.status`` (requests, httpx, aiohttp,
  urllib3) with the body in ``.content`` / ``.text``;
- ``error.status_code`` / ``.status`` / ``.code`` on the exception itself
  (auth0-python's ``Auth0Error`` and ``RateLimitError``, ``urllib.error.HTTPError``),
  with the body in ``.content`` / ``.body``;
- an OAuth error code (authlib's ``OAuthError.error``, which carries no
  status): ``too_many_requests`` (Auth0's "Too Many Requests") and
  ``rate_limit_exceeded`` are throttles;
- the same, one or two exceptions down the ``raise ... from`` chain.

Pure: no I/O, no SDK import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from quotalab.outcomes import KIND_NAMES, OK, OTHER, THROTTLED_429, THROTTLED_KINDS, answer_kind
from quotalab.wire import HttpResponse

THROTTLE_ERROR_CODES = frozenset({"too_many_requests", "rate_limit_exceeded"})
"""OAuth ``error`` codes of throttling answers, lower case with ``_`` for spaces
(Auth0's 429 says ``"error": "Too Many Requests"``)."""

MESSAGE_LIMIT = 200
"""Characters of an exception's message kept for the report."""


@dataclass(frozen=True, slots=True)
class RaisedCall:
    """A call that raised: its reason (the exception type), kind and first line of message."""

    reason: str
    kind: int
    message: str

    @property
    def throttled(self) -> bool:
        """The exception carried a throttling answer (429, 403 code 99)."""
        return self.kind in THROTTLED_KINDS

    @property
    def kind_name(self) -> str:
        """The kind's name: ``throttled_429``, ``other``, ..."""
        return KIND_NAMES[self.kind]


def _status(source: object) -> int | None:
    for name in ("status_code", "status", "code"):
        value = getattr(source, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def _body(source: object) -> bytes:
    for name in ("content", "body", "text"):
        try:
            value = getattr(source, name, None)
        except Exception:  # a lazy body that cannot be read is no body
            continue
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode("utf-8", "replace")
        if isinstance(value, dict | list):
            return json.dumps(value).encode()
    return b""


def _answer(source: object) -> HttpResponse | None:
    """The HTTP answer ``source`` (an exception or its ``response``) describes, if any."""
    status = _status(source)
    if status is None:
        return None
    return HttpResponse(status, {}, _body(source))


def _seen(error: BaseException) -> int | None:
    """The kind of the answer ``error`` carries, or ``None`` when it carries none."""
    code = getattr(error, "error", None)
    if isinstance(code, str) and code.strip().lower().replace(" ", "_") in THROTTLE_ERROR_CODES:
        return THROTTLED_429
    response: Any = getattr(error, "response", None)
    for source in (response, error):
        if source is None:
            continue
        answer = _answer(source)
        if answer is not None:
            return answer_kind(answer)
    return None


def printable(text: str) -> str:
    """``text`` with control and format characters (ESC, BEL, bidi overrides) escaped.

    Exception messages reach terminals, Markdown and HTML: an ANSI escape in
    one must show as ``\\x1b``, never recolour or rewrite the reader's screen.
    """
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def _message(error: BaseException) -> str:
    try:
        text = str(error).strip().splitlines()
    except Exception:  # an exception whose __str__ raises still counts
        return f"{printable(type(error).__name__)} (its message could not be read)"
    first = printable(text[0]) if text else ""
    if len(first) > MESSAGE_LIMIT:
        first = first[: MESSAGE_LIMIT - 1] + "…"
    return first or printable(type(error).__name__)


def raised_call(error: BaseException) -> RaisedCall:
    """Classify an exception out of ``call_api``: throttled, or an error by its type."""
    kind: int | None = None
    link: BaseException | None = error
    for _ in range(3):
        if link is None:
            break
        try:
            kind = _seen(link)
        except Exception:  # an attribute that raises when read carries no answer
            kind = None
        if kind is not None:
            break
        link = link.__cause__ or link.__context__
    if kind is None or kind == OK:  # no answer, or one that was fine: the client's own error
        kind = OTHER
    return RaisedCall(printable(type(error).__name__), kind, _message(error))
