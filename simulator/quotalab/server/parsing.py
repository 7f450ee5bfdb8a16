"""Reading an ``HttpRequest``: path, headers, HTTP Basic credentials, form and JSON bodies.

Every parser returns a value or a short description of what was wrong; none
raises on any input, so malformed requests become provider-style 4xx answers.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from quotalab.wire import HttpRequest


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of a request the provider looks at."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    host: str


def read_request(request: HttpRequest) -> Incoming:
    """Split ``request.url`` (absolute or path-only) and lower-case header names."""
    url = request.url
    headers = {name.lower(): value for name, value in request.headers}
    if url.startswith("/"):
        path, _, query = url.partition("?")
        host = headers.get("host", "")
    else:
        parts = urlsplit(url)
        path, query = parts.path or "/", parts.query
        host = headers.get("host") or parts.netloc
    return Incoming(request.method.upper(), path, query, headers, request.body, host)


def media_type(incoming: Incoming) -> str:
    """The content type without parameters, lower-cased."""
    return incoming.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_form(body: bytes) -> dict[str, str] | str:
    """Form fields or what was wrong.

    A repeated key is refused (RFC 6749 3.1: parameters "MUST NOT be included
    more than once"); Node's body parser turns it into a list, which Auth0
    answers like a JSON list: ``Invalid type for parameter``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "Request body is not valid UTF-8"
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except ValueError:  # a percent-encoded byte sequence that is not UTF-8 included
        return "Invalid form body"
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            return f"Invalid type for parameter: {key}"
        fields[key] = value
    return fields


def declared_length(headers: dict[str, str]) -> int | None:
    """The ``content-length`` a request announces (lower-cased names), or ``None``."""
    text = headers.get("content-length", "").strip()
    return int(text) if text.isdigit() else None


UNENCODABLE_TEXT = "Invalid JSON body: text must be valid Unicode (no lone surrogates)"


def _encodable(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form: JSON's ``"\\ud800"`` decodes to a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json_object(body: bytes) -> dict[str, str] | str:
    """String-valued fields of a JSON object, or what was wrong.

    Text that cannot be written back as UTF-8 is refused here, once, so no
    secret comparison, response template, counter or metric ever sees it.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "Invalid JSON body"
    if not isinstance(data, dict):
        return "Request body must be a JSON object"
    fields: dict[str, str] = {}
    for key, value in data.items():
        if not _encodable(key):
            return UNENCODABLE_TEXT
        if isinstance(value, str):
            if not _encodable(value):
                return UNENCODABLE_TEXT
            fields[key] = value
        elif value is not None:
            return f"Invalid type for parameter: {key}"
    return fields


def parse_body_fields(incoming: Incoming) -> dict[str, str] | str:
    """Fields of a JSON or form body, chosen by content type (empty body: no fields)."""
    kind = media_type(incoming)
    if kind == "application/json":
        return parse_json_object(incoming.body) if incoming.body else {}
    if kind == "application/x-www-form-urlencoded":
        return parse_form(incoming.body)
    if not incoming.body:
        return {}
    shown = kind or "none"
    return (
        f"Unsupported content type: {shown}. "
        "Use application/json or application/x-www-form-urlencoded"
    )


def basic_credentials(incoming: Incoming, *, url_decode: bool) -> tuple[str, str] | None:
    """``(id, secret)`` from an HTTP Basic header, or ``None`` when absent or garbage.

    Twitter percent-encodes the key and secret before base64 (``url_decode``).
    """
    value = incoming.headers.get("authorization", "")
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, secret = decoded.partition(":")
    if not sep:
        return None
    if url_decode:
        user, secret = unquote(user), unquote(secret)
    return user, secret


def bearer_token(incoming: Incoming) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``."""
    value = incoming.headers.get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None
