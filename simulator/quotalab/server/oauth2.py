"""A client-credentials token endpoint (RFC 6749 section 4.4) shaped by data.

Entra ID and Okta both answer ``POST .../token`` with a form body and
``client_secret_post`` or ``client_secret_basic``; they differ in where the
audience comes from (Entra: the scope ``<resource>/.default``; Okta: the
authorization server itself), in the access token's claims and in their
error bodies. All three are profile data (``audience_from``,
``scope_suffix``, ``claims``, and one response per outcome), so this one
flow serves both and the next provider like them.

Response roles (each defaults to the response of the same name):
``ok``, ``malformed``, ``missing_parameter`` (``${name}``),
``missing_secret``, ``auth_method``, ``unknown_client`` (``${client_id}``),
``invalid_client``, ``unsupported_grant_type`` (``${grant_type}``),
``invalid_scope`` (``${scope}``), ``unknown_resource`` (``${audience}``),
``scope_not_allowed`` (``${scope}``), ``multiple_auth_methods``
(``${client_id}``, ``${description}``: HTTP Basic and a body secret together,
which RFC 6749 section 2.3 forbids); ``malformed`` fills ``${description}``.
The loader refuses a response naming any other placeholder in its role
(``quotalab.profiles.placeholders``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from quotalab.profiles.profile_model import ClaimValue, ClientSpec, EndpointSpec
from quotalab.server.parsing import Incoming, basic_credentials, media_type
from quotalab.server.request_ids import generated_values
from quotalab.server.request_plans import TokenAsk
from quotalab.server.templates import TextTemplate
from quotalab.server.throttle import merged_headers
from quotalab.wire import HttpResponse

if TYPE_CHECKING:
    from quotalab.server.mock_provider import MockProvider

ANONYMOUS = "anonymous"
SCOPES_PLACEHOLDER = "${scopes}"
"""A claim written exactly so holds the granted scopes as a list (omitted when none)."""

_ASKED_FOR = ("grant_type", "scope", "audience", "resource")


def requested_token_key(fields: Mapping[str, str]) -> str:
    """What a token request asks for, as a short digest: the ``request`` key part.

    Credentials and per-request ids are left out, so a client asking again
    and again for the same token always lands on the same key.
    """
    asked = "\n".join(f"{name}={fields.get(name, '')}" for name in _ASKED_FOR)
    return hashlib.sha256(asked.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def read_token_form(body: bytes) -> dict[str, str] | str:
    """The form fields of a token request, or a provider-neutral sentence saying what was wrong.

    Raw or percent-decoded bytes that are not UTF-8 are refused, never turned
    into U+FFFD; a repeated parameter is named (RFC 6749 3.1: parameters
    "MUST NOT be included more than once").
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except ValueError:  # UnicodeDecodeError included
        return "The request body is not valid UTF-8 (raw or percent-encoded)."
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            return f"The parameter '{key}' is included more than once."
        fields[key] = value
    return fields


def _client_credentials(
    incoming: Incoming, fields: Mapping[str, str]
) -> tuple[str, str | None, str]:
    """``(client_id, secret or None, method)`` as the client presented them."""
    if "authorization" in incoming.headers:
        basic = basic_credentials(incoming, url_decode=True)
        if basic is not None:
            return basic[0], basic[1], "client_secret_basic"
    secret = fields.get("client_secret")
    return fields.get("client_id", ""), secret, "client_secret_post"


def _granted(
    endpoint: EndpointSpec,
    client: ClientSpec,
    scope_text: str,
    audiences: Mapping[str, tuple[str, ...]],
) -> tuple[str, list[str], dict[str, str] | None]:
    """``(audience, granted scopes, None)``, or ``(role, [], values)`` refusing the request."""
    requested = scope_text.split()
    if endpoint.audience_from == "scope":
        suffix = endpoint.scope_suffix
        if len(requested) != 1 or not requested[0].endswith(suffix) or requested[0] == suffix:
            return "invalid_scope", [], {"scope": scope_text}
        audience = requested[0][: len(requested[0]) - len(suffix)] if suffix else requested[0]
        known = audiences.get(audience)
        if known is None:
            return "unknown_resource", [], {"audience": audience}
        if client.audiences and audience not in client.audiences:
            return audience, [], None  # Entra still issues a token: it just carries no roles
        return audience, [scope for scope in client.scopes if scope in known], None
    audience = endpoint.audience
    known = audiences.get(audience, ())
    unknown = [scope for scope in requested if scope not in known]
    if unknown:
        return "invalid_scope", [], {"scope": " ".join(unknown)}
    refused = [scope for scope in requested if scope not in client.scopes]
    if refused:
        return "scope_not_allowed", [], {"scope": " ".join(refused)}
    return audience, requested, None


def build_claims(
    template: Sequence[tuple[str, ClaimValue]],
    values: Mapping[str, str],
    scopes: Sequence[str],
    issued_at: int,
    lifetime_s: int,
    include_nbf: bool,
) -> dict[str, Any]:
    """The access token's claims: ``iat``/``nbf``/``exp`` plus the profile's ``claims``."""
    claims: dict[str, Any] = {}
    for name, value in template:
        if value == SCOPES_PLACEHOLDER:
            if scopes:
                claims[name] = list(scopes)
        elif isinstance(value, str):
            claims[name] = TextTemplate(value).fill(values)
        elif isinstance(value, tuple):
            claims[name] = list(value)
        else:
            claims[name] = value
    claims["iat"] = issued_at
    if include_nbf:
        claims["nbf"] = issued_at
    claims["exp"] = issued_at + lifetime_s
    return claims


def read_token(p: MockProvider, endpoint: EndpointSpec, incoming: Incoming) -> TokenAsk:
    """``POST <token path>`` as read: the form, the credentials and what the token is for."""
    is_form = media_type(incoming) == "application/x-www-form-urlencoded"
    fields: Mapping[str, str] | str = (
        read_token_form(incoming.body)
        if is_form
        else "The request body must be form-encoded (application/x-www-form-urlencoded)."
    )
    body: Mapping[str, str] = {} if isinstance(fields, str) else fields
    client_id, secret, method = _client_credentials(incoming, body)
    who = p.counted_id(client_id)
    return TokenAsk(
        endpoint, incoming, fields, client_id, secret, method, who, requested_token_key(body)
    )


def token(p: MockProvider, ask: TokenAsk, headers: dict[str, str], now: float) -> HttpResponse:
    """A client-credentials grant, once admitted, answered as the profile says."""
    endpoint, fields, client_id, secret = ask.endpoint, ask.fields, ask.client_id, ask.secret
    method, who = ask.auth_method, ask.who
    body: Mapping[str, str] = {} if isinstance(fields, str) else fields

    def answer(role: str, values: Mapping[str, str] | None = None) -> HttpResponse:
        return p.render(endpoint.response(role, role), values, headers, now)

    if isinstance(fields, str):
        return answer("malformed", {"description": fields})
    if method == "client_secret_basic" and ("client_secret" in body or "client_assertion" in body):
        description = "Use only one client authentication method: HTTP Basic or the body."
        return answer("multiple_auth_methods", {"client_id": client_id, "description": description})
    for required in ("grant_type", "client_id"):
        if required == "client_id" and method == "client_secret_basic":
            continue
        if not body.get(required):
            return answer("missing_parameter", {"name": required})
    if method not in endpoint.client_auth:
        return answer("auth_method", {"client_id": client_id})
    if not secret:
        return answer("missing_secret", {"client_id": client_id})
    client = p.config.clients.get(client_id)
    if client is None:
        return answer("unknown_client", {"client_id": client_id})
    if not hmac.compare_digest(client.secret.encode(), secret.encode()):
        return answer("invalid_client", {"client_id": client_id})
    grant_type = body["grant_type"]
    if grant_type != "client_credentials" or grant_type not in client.grant_types:
        return answer("unsupported_grant_type", {"grant_type": grant_type})
    scope_text = body.get("scope", "").strip()
    if not scope_text:
        return answer("missing_parameter", {"name": "scope"})
    audience, scopes, refusal = _granted(endpoint, client, scope_text, p.config.audiences)
    if refusal is not None:
        return answer(audience, refusal)
    quota_rejected, quota_headers = p.limit(endpoint, "issue", who, now, "throttled_429")
    headers = merged_headers(headers, quota_headers)  # one list item per rule
    if quota_rejected is not None:
        return quota_rejected
    issuer = p.issuer(ask.incoming)
    values = {
        "client_id": client_id,
        "audience": audience,
        "issuer": issuer,
        "tenant": p.settings.tenant,
        **generated_values(("jti",), p.rng, now),
    }
    lifetime = p.settings.token_lifetime_s
    claims = build_claims(
        endpoint.claims, values, scopes, int(now), lifetime, p.settings.include_nbf
    )
    p.counters.incr(who, "tokens_issued")
    return answer(
        "ok",
        {
            "access_token": p.keys.sign(claims),
            "expires_in": str(lifetime),
            "scope": " ".join(scopes),
        },
    )
