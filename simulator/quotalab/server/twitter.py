"""Twitter-style application-only OAuth 2.0: one opaque bearer token per app,
invalidation, and APIs in fixed 15-minute windows.
"""

from __future__ import annotations

import hmac
import string
from typing import TYPE_CHECKING
from urllib.parse import quote

from quotalab.profiles.profile_model import EndpointSpec
from quotalab.server.parsing import (
    Incoming,
    basic_credentials,
    bearer_token,
    media_type,
    parse_form,
)
from quotalab.server.request_plans import TokenAsk
from quotalab.wire import HttpResponse

if TYPE_CHECKING:
    from quotalab.server.mock_provider import MockProvider

ANONYMOUS = "anonymous"
_ALPHABET = string.ascii_letters + string.digits


def _new_token(p: MockProvider) -> str:
    """``AAAA...%3D...``: the shape of real app-only tokens, from the seeded RNG."""
    head = "".join(p.rng.choice(_ALPHABET) for _ in range(25))
    tail = "".join(p.rng.choice(_ALPHABET) for _ in range(50))
    return f"AAAAAAAAAAAAAAAAAAAAA{head}%3D{tail}"


def _code_99(p: MockProvider, who: str, headers: dict[str, str] | None = None) -> HttpResponse:
    p.counters.incr(who, "forbidden_403_99")
    return p.responses["code_99"].render({"transaction": p.transaction_id()}, headers)


def _credentials(p: MockProvider, incoming: Incoming) -> tuple[str, str | None, str]:
    """``(app key, secret, who)``: ``("", None, "anonymous")`` without Basic credentials."""
    creds = basic_credentials(incoming, url_decode=True)
    if creds is None:
        return "", None, ANONYMOUS
    return creds[0], creds[1], p.counted_id(creds[0])


def _secret_ok(p: MockProvider, key: str, secret: str | None) -> bool:
    """Whether ``secret`` is app ``key``'s (``None``: no credentials presented)."""
    client = p.config.clients.get(key)
    if client is None or secret is None:
        return False
    return hmac.compare_digest(client.secret.encode(), secret.encode())


def _authenticate(p: MockProvider, incoming: Incoming) -> tuple[str, bool]:
    """The app key presented (or ``anonymous``) and whether its secret is right."""
    key, secret, who = _credentials(p, incoming)
    return who, _secret_ok(p, key, secret)


def _form(incoming: Incoming) -> dict[str, str]:
    """Form fields; any other content type reads as no fields at all."""
    if media_type(incoming) not in ("", "application/x-www-form-urlencoded"):
        return {}
    fields = parse_form(incoming.body)
    return fields if isinstance(fields, dict) else {}


def read_token(p: MockProvider, endpoint: EndpointSpec, incoming: Incoming) -> TokenAsk:
    """``POST /oauth2/token`` as read: the app's Basic credentials and the form."""
    key, secret, who = _credentials(p, incoming)
    method = "client_secret_basic"
    return TokenAsk(endpoint, incoming, _form(incoming), key, secret, method, who, "")


def token(p: MockProvider, ask: TokenAsk, headers: dict[str, str], now: float) -> HttpResponse:
    """``POST /oauth2/token`` once admitted: the app's bearer token, or 403 code 99."""
    who, endpoint = ask.who, ask.endpoint
    if not _secret_ok(p, ask.client_id, ask.secret):
        return _code_99(p, who, headers)
    grant = ask.fields.get("grant_type") if not isinstance(ask.fields, str) else None
    if not grant:
        return p.responses["missing_grant_type"].render(None, headers)
    if grant != "client_credentials":
        return _code_99(p, who, headers)
    with p.token_lock:  # threads asking at once must still get one token per app
        bearer = p.app_tokens.get(who)
        if bearer is None:
            bearer = _new_token(p)
            p.app_tokens[who] = bearer
            p.token_apps[bearer] = who
    p.counters.incr(who, "tokens_issued")
    return p.responses[endpoint.response("ok", "token_ok")].render(
        {"access_token": bearer}, headers
    )


def invalidate(
    p: MockProvider, endpoint: EndpointSpec, incoming: Incoming, now: float
) -> HttpResponse:
    """``POST /oauth2/invalidate_token``: the app's token stops working."""
    who, ok = _authenticate(p, incoming)
    if (fault := p.fault(endpoint, who, now)) is not None:
        return fault
    if not ok:
        return _code_99(p, who)
    access_token = _form(incoming).get("access_token", "")
    with p.token_lock:
        if access_token not in p.token_apps:
            # Clients send the token as issued ("%3D") or form-encoded once more.
            access_token = quote(access_token, safe="")
        if p.token_apps.get(access_token) != who:
            return p.responses["invalid_token"].render()
        del p.token_apps[access_token]
        del p.app_tokens[who]
        if len(p.revoked_tokens) >= 10_000:
            p.revoked_tokens.clear()
        p.revoked_tokens[access_token] = who
    return p.responses["invalidate_ok"].render({"access_token": access_token})


def bearer_api(
    p: MockProvider, endpoint: EndpointSpec, incoming: Incoming, now: float
) -> HttpResponse:
    """An API read with the app-only bearer token, in fixed windows per app and endpoint."""
    raw = bearer_token(incoming)
    app = p.token_apps.get(raw) if raw is not None else None
    who = app or (p.revoked_tokens.get(raw, ANONYMOUS) if raw is not None else ANONYMOUS)
    p.counters.incr(who, "api_calls")
    if (fault := p.fault(endpoint, who, now)) is not None:
        return fault
    if app is None:
        p.counters.incr(who, "api_401")
        # No bearer token at all may have its own answer (v2's problem JSON);
        # a token that is unknown or invalidated gets code 89.
        role = "unauthenticated" if raw is None else "unauthorized"
        name = endpoint.response(role, endpoint.response("unauthorized", "invalid_token"))
        return p.responses[name].render()
    rejected, headers = p.limit(endpoint, "request", who, now, "api_429")
    if rejected is not None:
        return rejected
    p.counters.incr(who, "api_ok")
    return p.responses[endpoint.response("ok", "search_v2_ok")].render({"client_id": who}, headers)
