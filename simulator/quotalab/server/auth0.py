"""Auth0-style flows: the client-credentials token endpoint, a JWT-protected API,
the JWKS and the discovery document.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from quotalab.counters import ANONYMOUS_CLIENTS
from quotalab.profiles.profile_model import EndpointSpec
from quotalab.server.parsing import Incoming, basic_credentials, bearer_token
from quotalab.server.request_plans import TokenAsk
from quotalab.server.throttle import merged_headers
from quotalab.wire import HttpResponse

if TYPE_CHECKING:
    from quotalab.server.mock_provider import MockProvider

KNOWN_GRANTS = frozenset(
    {
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "password",
        "http://auth0.com/oauth/grant-type/password-realm",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    }
)
ANONYMOUS = ANONYMOUS_CLIENTS
_MANAGEMENT_MESSAGES = {
    "jwt expired": "Expired token received for JSON Web Token validation",
    "Missing authentication": "Missing authentication",
}


def with_headers(response: HttpResponse, headers: dict[str, str]) -> HttpResponse:
    if not headers:
        return response
    return HttpResponse(response.status, {**response.headers, **headers}, response.body)


def _refused(p: MockProvider, who: str, response: HttpResponse) -> HttpResponse:
    """A refusal of the client's credentials or of the audience it asked for, counted as
    ``token_401``/``token_403``."""
    if response.status in (401, 403):
        p.counters.incr(who, f"token_{response.status}")
    return response


def read_token(p: MockProvider, endpoint: EndpointSpec, incoming: Incoming) -> TokenAsk:
    """``POST /oauth/token`` as read: JSON, form or Basic client authentication."""
    fields = p.body_fields(incoming)
    basic = (
        basic_credentials(incoming, url_decode=True)
        if "authorization" in incoming.headers
        else None
    )
    body_fields: Mapping[str, str] = {} if isinstance(fields, str) else fields
    if basic is not None:
        client_id, secret, method = basic[0], basic[1], "client_secret_basic"
    else:
        client_id = body_fields.get("client_id", "")
        secret, method = body_fields.get("client_secret", ""), "client_secret_post"
    who = p.counted_id(client_id)
    return TokenAsk(endpoint, incoming, fields, client_id, secret, method, who, "")


def token(p: MockProvider, ask: TokenAsk, headers: dict[str, str], now: float) -> HttpResponse:
    """``POST /oauth/token`` once admitted: ``headers`` are the rate-limit headers to send."""
    endpoint, fields, client_id, who = ask.endpoint, ask.fields, ask.client_id, ask.who
    r = p.responses

    def invalid(description: str) -> HttpResponse:
        return r["invalid_request"].render({"description": description}, headers)

    if isinstance(fields, str):
        return invalid(fields)
    grant_type = fields.get("grant_type", "")
    if not grant_type:
        return invalid("Missing required parameter: grant_type")
    if grant_type not in KNOWN_GRANTS:
        return r["unsupported_grant_type"].render({"grant_type": grant_type}, headers)
    if not client_id:
        return invalid("Missing required parameter: client_id")
    secret = ask.secret or ""
    client = p.config.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
        return _refused(p, who, r["unauthorized"].render(None, headers))
    if grant_type not in client.grant_types:
        return _refused(
            p, who, r["unauthorized_client"].render({"grant_type": grant_type}, headers)
        )
    if grant_type != "client_credentials":
        return r["unsupported_grant_type"].render({"grant_type": grant_type}, headers)
    audience = fields.get("audience", "")
    # Auth0's 403 access_denied for an audience the client may not have: refused too.
    if not audience:
        return _refused(p, who, r["no_audience"].render(None, headers))
    audience_scopes = p.config.audiences.get(audience)
    if audience_scopes is None:
        return _refused(p, who, r["service_not_found"].render({"audience": audience}, headers))
    if client.audiences and audience not in client.audiences:
        return _refused(p, who, r["client_not_authorized"].render({"audience": audience}, headers))
    allowed = [s for s in client.scopes if s in audience_scopes]
    requested = fields.get("scope")
    granted = allowed if requested is None else [s for s in requested.split() if s in allowed]
    quota_rejected, quota_headers = p.limit(endpoint, "issue", who, now, "throttled_429")
    headers = merged_headers(headers, quota_headers)  # one list item per rule
    if quota_rejected is not None:
        return with_headers(quota_rejected, headers)
    issued_at = int(now)
    claims: dict[str, Any] = {
        "iss": p.issuer(ask.incoming),
        "sub": f"{client_id}@clients",
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + p.settings.token_lifetime_s,
    }
    if p.settings.include_nbf:
        claims["nbf"] = issued_at
    if granted:
        claims["scope"] = " ".join(granted)
    claims["gty"] = "client-credentials"
    claims["azp"] = client_id
    values = {
        "access_token": p.keys.sign(claims),
        "scope": " ".join(granted),
        "expires_in": str(p.settings.token_lifetime_s),
    }
    p.counters.incr(who, "tokens_issued")
    name = "token_ok" if granted else "token_ok_no_scope"
    return r[endpoint.response("ok" if granted else "ok_no_scope", name)].render(values, headers)


def token_problem(
    p: MockProvider, claims: dict[str, Any], audience: str, issuer: str, now: float
) -> str:
    """Why a correctly signed token is not acceptable now, or ``""``."""
    leeway = p.settings.validation_leeway_s
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or now > exp + leeway:
        return "jwt expired"
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now + leeway < nbf:
        return "jwt not active"
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience and audience not in audiences:
        return "jwt audience invalid"
    if claims.get("iss") != issuer:
        return "jwt issuer invalid"
    return ""


def jwt_api(
    p: MockProvider, endpoint: EndpointSpec, incoming: Incoming, now: float
) -> HttpResponse:
    """A resource server: signature, ``iss``, ``aud``, ``exp``, ``nbf`` and scope."""
    raw = bearer_token(incoming)
    claims: dict[str, Any] | str = "Missing authentication" if raw is None else p.keys.verify(raw)
    azp = claims.get(endpoint.client_claim) if isinstance(claims, dict) else None
    who = azp if isinstance(azp, str) and azp else ANONYMOUS
    p.counters.incr(who, "api_calls")
    if (fault := p.fault(endpoint, who, now)) is not None:
        return fault
    r = p.responses
    problem = claims if isinstance(claims, str) else ""
    if not problem and isinstance(claims, dict):
        problem = token_problem(p, claims, endpoint.audience, p.issuer(incoming), now)
    if problem:
        p.counters.incr(who, "api_401")
        role, default = (
            ("missing", "bearer_401_missing") if raw is None else ("unauthorized", "bearer_401")
        )
        name = endpoint.response(role, default)
        message = _MANAGEMENT_MESSAGES.get(problem, "Invalid token")
        return r[name].render({"description": problem, "message": message})
    rejected, headers = p.limit(endpoint, "request", who, now, "api_429")
    if rejected is not None:
        return rejected
    assert isinstance(claims, dict)
    scopes: list[str] = []
    for name in endpoint.scope_claims:  # "scope" (a string), "scp" / "roles" (lists)
        granted = claims.get(name)
        if isinstance(granted, str):
            scopes.extend(granted.split())
        elif isinstance(granted, list):
            scopes.extend(item for item in granted if isinstance(item, str))
    if endpoint.scope and endpoint.scope not in scopes:
        p.counters.incr(who, "api_403")
        return r[endpoint.response("forbidden", "bearer_403")].render(
            {"scope": endpoint.scope}, headers
        )
    p.counters.incr(who, "api_ok")
    return r[endpoint.response("ok", "api_data_ok")].render({"client_id": who}, headers)


def _limited(
    p: MockProvider, endpoint: EndpointSpec, now: float
) -> tuple[HttpResponse | None, dict[str, str]]:
    """An injected 503 (faults set on keys or discovery, as on any endpoint), else the
    endpoint's limits, if it names any (Okta counts keys and metadata in its bucket)."""
    if (fault := p.fault(endpoint, ANONYMOUS, now)) is not None:
        return fault, {}
    if not endpoint.limits:
        return None, {}
    return p.limit(endpoint, "request", ANONYMOUS, now, "throttled_429")


def jwks(p: MockProvider, endpoint: EndpointSpec, incoming: Incoming, now: float) -> HttpResponse:
    """The public signing keys, with the rate-limit headers of any limit the endpoint names."""
    rejected, headers = _limited(p, endpoint, now)
    if rejected is not None:
        return rejected
    return HttpResponse(200, {"content-type": "application/json", **headers}, p.keys.jwks_bytes())


def discovery(
    p: MockProvider, endpoint: EndpointSpec, incoming: Incoming, now: float
) -> HttpResponse:
    """OpenID Connect discovery pointing at this server's token endpoint and JWKS.

    A profile may give the whole document as its ``ok`` response instead,
    with ``${issuer}`` and ``${base_url}`` placeholders (Entra, Okta).
    """
    rejected, headers = _limited(p, endpoint, now)
    if rejected is not None:
        return rejected
    issuer = p.issuer(incoming)
    if any(role == "ok" for role, _ in endpoint.responses):
        values = {
            "issuer": issuer,
            "base_url": p.public_base(incoming),
            "served_issuer": p.served_issuer(incoming),
        }
        return p.render(endpoint.response("ok", "ok"), values, headers, now)
    # The endpoints are this server's even when the issuer names a real tenant: a
    # client following them must never be sent to the provider itself.
    base = p.public_base(incoming)
    paths = {e.kind: e.path for e in p.config.endpoints}
    document = {
        "issuer": issuer,
        "token_endpoint": base + paths.get("auth0_token", "/oauth/token"),
        "jwks_uri": base + paths.get("jwks", "/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [p.keys.algorithm],
    }
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return HttpResponse(200, {"content-type": "application/json", **headers}, body)
