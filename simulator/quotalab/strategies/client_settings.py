"""How a client talks to one provider: token request shape and token parsing.

Providers are data: ``ClientSettings`` says whether the token endpoint wants
an Auth0-style JSON body, Twitter-style Basic auth with a form body, or a
plain RFC 6749 form request with a scope (``oauth2``: Entra ID, Okta; client
secret in the body or in Basic auth), and ``token_request`` /
``parse_token`` turn that into wire values.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from quotalab.errors import InputError, UnavailableError
from quotalab.wire import HttpRequest, HttpResponse

Style = Literal["auth0", "twitter", "oauth2"]
STYLES: tuple[Style, ...] = ("auth0", "twitter", "oauth2")
ClientAuth = Literal["client_secret_post", "client_secret_basic"]
CLIENT_AUTH: tuple[ClientAuth, ...] = ("client_secret_post", "client_secret_basic")


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Where and how to fetch a client-credentials token, and where the API lives."""

    style: Style
    token_url: str
    client_id: str
    client_secret: str
    audience: str = ""
    scope: str = ""
    api_base_url: str = ""
    client_auth: ClientAuth = "client_secret_post"
    # The provider's own advice to backing-off clients (its profile's
    # client_retry_budget_s / client_cooldown_s); None keeps the policy's.
    retry_budget_s: float | None = None
    cooldown_s: float | None = None

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise InputError(f"provider style {self.style!r} is unknown; use one of {STYLES}")
        if self.client_auth not in CLIENT_AUTH:
            raise InputError(
                f"client_auth {self.client_auth!r} is unknown; use one of {CLIENT_AUTH}"
            )
        if not self.token_url.startswith(("http://", "https://")):
            raise InputError(f"token_url must be an absolute http(s) URL, got {self.token_url!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> ClientSettings:
        """Build settings from a plain mapping (a profile table or CLI options)."""
        known = {"style", "token_url", "client_id", "client_secret", "audience", "scope"}
        known.update(("api_base_url", "client_auth", "retry_budget_s", "cooldown_s"))
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown provider settings {unknown}; accepted: {sorted(known)}")
        missing = sorted({"style", "token_url", "client_id", "client_secret"} - set(data))
        if missing:
            raise InputError(f"provider settings lack {missing}")
        seconds = {
            key: _seconds(key, data[key]) for key in ("retry_budget_s", "cooldown_s") if key in data
        }
        values = {key: str(value) for key, value in data.items() if key not in seconds}
        style = values.pop("style")
        if style not in STYLES:
            raise InputError(f"provider style {style!r} is unknown; use one of {STYLES}")
        auth = values.pop("client_auth", "client_secret_post")
        if auth not in CLIENT_AUTH:
            raise InputError(f"client_auth {auth!r} is unknown; use one of {CLIENT_AUTH}")
        return cls(style=style, client_auth=auth, **values, **seconds)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Token:
    """An access token; ``expires_at`` is None when the provider gives no lifetime."""

    access_token: str
    expires_at: float | None
    lifetime_s: float | None


def token_request(settings: ClientSettings) -> HttpRequest:
    """The client-credentials token request for this provider, byte for byte."""
    if settings.style == "oauth2":
        return _oauth2_request(settings)
    if settings.style == "twitter":
        return HttpRequest(
            method="POST",
            url=settings.token_url,
            headers=(
                ("authorization", _basic(settings)),
                ("content-type", "application/x-www-form-urlencoded;charset=UTF-8"),
            ),
            body=b"grant_type=client_credentials",
        )
    payload = {
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
        "audience": settings.audience,
        "grant_type": "client_credentials",
    }
    if settings.scope:
        payload["scope"] = settings.scope
    return HttpRequest(
        method="POST",
        url=settings.token_url,
        headers=(("content-type", "application/json"),),
        body=json.dumps(payload, separators=(",", ":")).encode(),
    )


def _seconds(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"{key} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise InputError(f"{key} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{key} must be a number of seconds >= 0, got {value!r}")
    return seconds


def _basic(settings: ClientSettings) -> str:
    """RFC 6749 2.3.1: id and secret form-encoded, then base64 (Twitter wants the same)."""
    pair = f"{quote(settings.client_id, safe='')}:{quote(settings.client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _oauth2_request(settings: ClientSettings) -> HttpRequest:
    fields = [("grant_type", "client_credentials")]
    if settings.scope:
        fields.append(("scope", settings.scope))
    headers: list[tuple[str, str]] = [("content-type", "application/x-www-form-urlencoded")]
    if settings.client_auth == "client_secret_basic":
        headers.append(("authorization", _basic(settings)))
    else:
        fields = [
            ("client_id", settings.client_id),
            ("client_secret", settings.client_secret),
            *fields,
        ]
    return HttpRequest(
        method="POST",
        url=settings.token_url,
        headers=tuple(headers),
        body=urlencode(fields).encode("ascii"),
    )


def access_token_of(data: object) -> str | None:
    """The access token a client takes from a token response's JSON (None: none it would)."""
    token = data.get("access_token") if isinstance(data, dict) else None
    return token if isinstance(token, str) and token else None


def parse_token(response: HttpResponse, now: float) -> Token:
    """Read a successful token response; a body without ``access_token`` is an error."""
    data = response.json()
    token = access_token_of(data)
    if token is None:
        raise UnavailableError("token response has no access_token", response.status)
    lifetime = _lifetime_s(data.get("expires_in"))
    if lifetime is None:
        return Token(token, None, None)
    return Token(token, now + lifetime, lifetime)


def _lifetime_s(value: object) -> float | None:
    """``expires_in`` as seconds: a number, or a numeric string as some providers send."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def with_bearer(request: HttpRequest, access_token: str) -> HttpRequest:
    """The API request with ``Authorization: Bearer <token>`` (replacing any earlier one)."""
    headers = tuple(item for item in request.headers if item[0].lower() != "authorization")
    return HttpRequest(
        method=request.method,
        url=request.url,
        headers=(*headers, ("authorization", f"Bearer {access_token}")),
        body=request.body,
    )
